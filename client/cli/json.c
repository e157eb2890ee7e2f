/* json.c -- JSON output of the patrol tool (cJSON). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

static int json_printed;

void cli_json_print(cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
        json_printed = 1;
    }
    cJSON_Delete(v);
}

void cli_json_error(int status, const char *code, const char *msg)
{
    cJSON *j;
    if (json_printed || !(j = cJSON_CreateObject()))
        return;
    cJSON_AddBoolToObject(j, "ok", 0);
    cJSON_AddNumberToObject(j, "exit", status);
    cJSON_AddStringToObject(j, "code", code);
    cJSON_AddStringToObject(j, "error", msg);
    cli_json_print(j);
}

const char *cli_err_code(int err)
{
    switch (err) {
    case PATROL_EINVAL: return "invalid";
    case PATROL_ENOTFOUND: return "not_found";
    case PATROL_ESTATE: return "state";
    case PATROL_EREFUSED: return "refused";
    case PATROL_EEXIST: return "exists";
    case PATROL_EIO: return "io";
    case PATROL_ENOSPC: return "no_space";
    case PATROL_ELOCKED: return "locked";
    case PATROL_ESCHEMA: return "schema";
    case PATROL_ECORRUPT: return "corrupt";
    case PATROL_ECHANGED: return "changed";
    case PATROL_ENOMEM: return "no_memory";
    case PATROL_ECRYPTO: return "crypto";
    case PATROL_EVERIFY: return "verify";
    case PATROL_ENOSTORE: return "no_store";
    case PATROL_ENET: return "network";
    case PATROL_ESERVER: return "server";
    case PATROL_ETRUST: return "trust";
    case PATROL_EREJECTED: return "rejected";
    default: return "failed";
    }
}

const char *cli_conf_name(patrol_conf c)
{
    switch (c) {
    case PATROL_CONF_STATE_SECRET: return "state_secret";
    case PATROL_CONF_TRADE_SECRET: return "trade_secret";
    case PATROL_CONF_PERSONAL_PRIVACY: return "personal_privacy";
    default: return "";
    }
}

void cli_format_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

cJSON *cli_json_entry(const patrol_entry_view *e, int reveal)
{
    cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject(), *ins = cJSON_CreateArray();
    char when[80];

    cli_format_time(e->wall_ms, when, sizeof when);
    cJSON_AddNumberToObject(o, "seq", (double)e->seq);
    cJSON_AddStringToObject(o, "time", when);
    cJSON_AddNumberToObject(o, "wall_ms", (double)e->wall_ms);
    cJSON_AddNumberToObject(o, "mono_ns", (double)e->mono_ns);
    cJSON_AddStringToObject(o, "boot_id", e->boot_id);
    cJSON_AddStringToObject(o, "kind", e->kind);
    cJSON_AddStringToObject(o, "object", e->object);
    cJSON_AddStringToObject(o, "matter", e->matter);
    if (e->corrects)
        cJSON_AddNumberToObject(o, "corrects", (double)e->corrects);
    if (e->log_root) {
        cJSON *lg = cJSON_AddObjectToObject(o, "log");
        cJSON_AddNumberToObject(lg, "size", (double)e->log_size);
        cJSON_AddStringToObject(lg, "root", e->log_root);
    }
    for (size_t i = 0; i < e->n_inspectors; i++)
        cJSON_AddItemToArray(ins, cJSON_CreateString(e->inspectors[i]));
    cJSON_AddItemToObject(o, "inspectors", ins);
    for (size_t i = 0; i < e->n_fields; i++) {
        const patrol_field *fd = &e->fields[i];
        if (fd->conf == PATROL_CONF_NONE) {
            cJSON_AddStringToObject(f, fd->name, fd->value);
        } else {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "confidential", cli_conf_name(fd->conf));
            if (reveal)
                cJSON_AddStringToObject(c, "value", fd->value);
            cJSON_AddItemToObject(f, fd->name, c);
        }
    }
    cJSON_AddItemToObject(o, "fields", f);
    if (e->location) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "lat", (double)e->location->lat_e7 / 1e7);
        cJSON_AddNumberToObject(l, "lon", (double)e->location->lon_e7 / 1e7);
        cJSON_AddNumberToObject(l, "accuracy_m", e->location->accuracy_m);
        cJSON_AddItemToObject(o, "location", l);
    }
    cJSON_AddStringToObject(o, "hash", e->hash);
    cJSON_AddStringToObject(o, "prev", e->prev);
    return o;
}
