/* journal.c -- the full-process record: append-only, hash-chained, signed
 * entries (docs/journal.md), and reading them back. */
#include "internal.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "rules.h"
#include "tlog.h"
#include "validate.h"

/* Wall clock values outside this range mean the device clock is not set
 * (2020-01-01 .. 2100-01-01): refuse rather than record a false time. */
#define WALL_MIN_MS 1577836800000LL
#define WALL_MAX_MS 4102444800000LL

int px_journal_head(patrol *p, uint64_t *seq, uint8_t hash[PX_HASH_LEN])
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(p->db, "SELECT seq, hash FROM head WHERE one = 1", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal head"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        *seq = 0;
        memset(hash, 0, PX_HASH_LEN);
    } else if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == PX_HASH_LEN &&
               sqlite3_column_int64(st, 0) > 0) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(hash, sqlite3_column_blob(st, 1), PX_HASH_LEN);
    } else {
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? px_fail(p, PATROL_ECORRUPT, _("the journal head is damaged"))
                                : px_db_fail(p, rc, _("reading the journal head"));
    }
    sqlite3_finalize(st);
    return PATROL_OK;
}

static void read_boot_id(char *out, size_t len)
{
    /* Linux and Android; elsewhere the boot id stays empty. */
    char buf[64];
    ssize_t n;
    size_t j = 0;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    out[0] = '\0';
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < n && j + 1 < len; i++)
        if ((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f') || buf[i] == '-')
            out[j++] = buf[i];
    out[j] = '\0';
}

/* The server log checkpoint the next entry cites (docs/log.md
 * "Citations"): the newest kept checkpoint no entry has cited yet. 1 with
 * size, root and the row's server pin filled, 0 when there is none (or its
 * stored text no longer parses: recording goes on without a citation),
 * <0 a database error. */
static int uncited_checkpoint(patrol *p, uint64_t *size, uint8_t root[PX_HASH_LEN],
                              char pin[2 * PX_HASH_LEN + 1])
{
    sqlite3_stmt *st;
    char origin[128];
    uint64_t n = 0;
    int got = 0;
    int rc = sqlite3_prepare_v2(p->db,
                                "SELECT server_pin, note FROM log_checkpoint WHERE cited = 0"
                                " ORDER BY received_ms DESC, size DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the server log checkpoint"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *ph = (const char *)sqlite3_column_text(st, 0);
        const char *note = (const char *)sqlite3_column_text(st, 1);
        if (ph && note && strlen(ph) == 2 * PX_HASH_LEN &&
            tlog_checkpoint_parse(note, strlen(note), origin, sizeof origin, &n, root, NULL) ==
                0 &&
            n > 0) {
            memcpy(pin, ph, 2 * PX_HASH_LEN + 1);
            *size = n;
            got = 1;
        }
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? got : px_db_fail(p, rc, _("reading the server log checkpoint"));
}

int px_journal_append(patrol *p, const px_append *a, uint64_t *seq_out,
                      uint8_t hash_out[PX_HASH_LEN])
{
    Patrol__V1__Entry e = PATROL__V1__ENTRY__INIT;
    Patrol__V1__Location loc = PATROL__V1__LOCATION__INIT;
    Patrol__V1__LogCite cite = PATROL__V1__LOG_CITE__INIT;
    uint8_t cite_root[PX_HASH_LEN];
    char cite_pin[2 * PX_HASH_LEN + 1];
    Patrol__V1__Field fbuf[PX_ENTRY_MAX_FIELDS], *fptr[PX_ENTRY_MAX_FIELDS];
    uint8_t prev[PX_HASH_LEN], hash[PX_HASH_LEN], sig[PX_SIG_LEN];
    char boot_id[48], detail[256];
    struct timespec wall, mono;
    uint8_t *buf = NULL;
    size_t len;
    const char *why;
    sqlite3_stmt *st = NULL;
    uint64_t seq;
    int64_t wall_ms;
    int rc, err;

    if (a->n_fields > PX_ENTRY_MAX_FIELDS)
        return px_fail(p, PATROL_EINVAL, _("too many fields (at most %d)"), PX_ENTRY_MAX_FIELDS);
    if (a->n_inspectors > PX_ENTRY_MAX_INSPECTORS)
        return px_fail(p, PATROL_EINVAL, _("too many inspectors (at most %d)"),
                       PX_ENTRY_MAX_INSPECTORS);
    if ((err = px_journal_head(p, &seq, prev)))
        return err;
    seq++;

    if (clock_gettime(CLOCK_REALTIME, &wall) != 0 || clock_gettime(CLOCK_MONOTONIC, &mono) != 0)
        return px_fail(p, PATROL_EIO, _("cannot read the clock"));
    wall_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    if (wall_ms < WALL_MIN_MS || wall_ms > WALL_MAX_MS)
        return px_fail(p, PATROL_EINVAL,
                       _("the device clock is not set (it reads %lld s since 1970): "
                       "set the date before recording"),
                       (long long)wall.tv_sec);
    read_boot_id(boot_id, sizeof boot_id);

    e.format = PX_ENTRY_FORMAT;
    e.device.data = p->device_id;
    e.device.len = PX_HASH_LEN;
    e.seq = seq;
    e.prev_hash.data = prev;
    e.prev_hash.len = PX_HASH_LEN;
    e.wall_ms = wall_ms;
    e.mono_ns = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
    e.boot_id = boot_id;
    if (a->location) {
        loc.lat_e7 = a->location->lat_e7;
        loc.lon_e7 = a->location->lon_e7;
        loc.accuracy_m = a->location->accuracy_m;
        e.location = &loc;
    }
    e.inspectors = (char **)a->inspectors;
    e.n_inspectors = a->n_inspectors;
    e.kind = (char *)a->kind;
    e.object = (char *)a->object;
    for (size_t i = 0; i < a->n_fields; i++) {
        patrol__v1__field__init(&fbuf[i]);
        fbuf[i].name = (char *)a->fields[i].name;
        fbuf[i].value = (char *)a->fields[i].value;
        fbuf[i].confidential = (Patrol__V1__Confidentiality)a->fields[i].conf;
        fptr[i] = &fbuf[i];
    }
    e.fields = fptr;
    e.n_fields = a->n_fields;
    e.corrects = a->corrects;
    if ((rc = uncited_checkpoint(p, &cite.size, cite_root, cite_pin)) < 0)
        return rc;
    if (rc == 1) {
        cite.root.data = cite_root;
        cite.root.len = PX_HASH_LEN;
        e.log = &cite;
    }

    /* The same rules the server applies: refuse here what it would refuse;
     * then the record's rules across entries. An entry the law excludes
     * (-2: an excluded domain, an emergency) is well formed, so the
     * record's rules see it too and give their refusal, which names the
     * rule in the user's language. */
    if ((rc = px_rules_check_entry(&e, detail, sizeof detail)) == -1)
        return px_fail(p, PATROL_EINVAL, "%s", detail);
    if (a->check && (err = a->check(p, &e, a->check_ud)))
        return err;
    if (rc != 0)
        return px_fail(p, PATROL_EREFUSED, "%s", detail);
    if (px_entry_encode(&e, &buf, &len, &why) != 0)
        return px_fail(p, PATROL_EINVAL, "%s", why);
    px_entry_hash(buf, len, hash);
    if (px_sign(p->key, hash, sig) != 0) {
        free(buf);
        return px_fail(p, PATROL_ECRYPTO, _("signing the entry failed"));
    }

    rc = sqlite3_prepare_v2(p->db,
                            "INSERT INTO journal(seq, hash, entry, sig, kind, object, matter)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, buf, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, sig, PX_SIG_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, a->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, a->object, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, a->matter ? a->matter : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    free(buf);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("writing the journal"));

    rc = sqlite3_prepare_v2(p->db, "INSERT OR REPLACE INTO head(one, seq, hash) VALUES (1, ?, ?)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_blob(st, 2, hash, PX_HASH_LEN, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("writing the journal head"));
    if (e.log && (err = px_run(p, "UPDATE log_checkpoint SET cited = 1"
                                  " WHERE server_pin = ?1 AND size = ?2",
                               "ti", cite_pin, (int64_t)cite.size)))
        return err;
    p->appended_seq = seq;
    *seq_out = seq;
    if (hash_out)
        memcpy(hash_out, hash, PX_HASH_LEN);
    return PATROL_OK;
}

/* ---- reading ---------------------------------------------------------- */

int patrol_log(patrol *p, const char *matter, patrol_entry_cb cb, void *ud)
{
    sqlite3_stmt *st;
    int rc, ret = PATROL_OK;

    p->errmsg[0] = '\0';
    if (matter) {
        char id[PATROL_ID_MAX];
        int err = px_get_text(p, id, sizeof id, "SELECT id FROM matters WHERE id = ?", "t", matter);
        if (err == PATROL_ENOTFOUND)
            return px_fail(p, PATROL_ENOTFOUND, _("no matter '%.64s' on this terminal"), matter);
        if (err)
            return err;
    }
    rc = sqlite3_prepare_v2(p->db,
                            matter ? "SELECT seq, entry, hash, matter FROM journal WHERE matter = ?"
                                     " ORDER BY seq"
                                   : "SELECT seq, entry, hash, matter FROM journal ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading the journal"));
    if (matter)
        sqlite3_bind_text(st, 1, matter, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *why;
        Patrol__V1__Entry *e = px_entry_decode(sqlite3_column_blob(st, 1),
                                               (size_t)sqlite3_column_bytes(st, 1), &why);
        patrol_field fields[PX_ENTRY_MAX_FIELDS];
        patrol_location loc;
        patrol_entry_view v;
        char hash[65], prev[65], log_root[65];

        if (!e) {
            ret = px_fail(p, PATROL_ECORRUPT, _("journal entry %lld: %s (run 'patrol verify')"),
                          (long long)sqlite3_column_int64(st, 0), why);
            break;
        }
        memset(&v, 0, sizeof v);
        v.seq = e->seq;
        v.wall_ms = e->wall_ms;
        v.mono_ns = e->mono_ns;
        v.boot_id = e->boot_id;
        v.kind = e->kind;
        v.object = e->object;
        v.matter = (const char *)sqlite3_column_text(st, 3);
        if (!v.matter)
            v.matter = "";
        v.corrects = e->corrects;
        if (e->log) {
            px_format_hex(e->log->root.data, PX_HASH_LEN, log_root);
            v.log_size = e->log->size;
            v.log_root = log_root;
        }
        px_format_hex(e->prev_hash.data, PX_HASH_LEN, prev);
        if (sqlite3_column_bytes(st, 2) == PX_HASH_LEN)
            px_format_hex(sqlite3_column_blob(st, 2), PX_HASH_LEN, hash);
        else
            hash[0] = '\0';
        v.hash = hash;
        v.prev = prev;
        v.inspectors = (const char *const *)e->inspectors;
        v.n_inspectors = e->n_inspectors;
        for (size_t i = 0; i < e->n_fields; i++) {
            fields[i].name = e->fields[i]->name;
            fields[i].value = e->fields[i]->value;
            fields[i].conf = (patrol_conf)e->fields[i]->confidential;
        }
        v.fields = fields;
        v.n_fields = e->n_fields;
        if (e->location) {
            loc.lat_e7 = e->location->lat_e7;
            loc.lon_e7 = e->location->lon_e7;
            loc.accuracy_m = e->location->accuracy_m;
            v.location = &loc;
        }
        ret = cb(ud, &v);
        px_entry_free(e);
        if (ret != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = px_db_fail(p, rc, _("reading the journal"));
    sqlite3_finalize(st);
    return ret;
}
