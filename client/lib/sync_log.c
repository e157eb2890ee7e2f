/* sync_log.c -- the server log in sync answers (docs/log.md "Receipts"):
 * a batch's Ack carries the checkpoint covering it and the inclusion proof
 * of its last stored entry. The terminal checks the checkpoint's signature
 * with the receipt key from enrolment and the proof against its root, the
 * leaf rebuilt from its own journal, and keeps the newest checkpoint
 * (table log_checkpoint, one row per server pin). An Ack without a
 * checkpoint (a server that predates the log) is accepted as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "internal.h"
#include "tlog.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int px_sync_log_check(patrol *p, const px_key *receipt_key, const Patrol__V1__Ack *ack,
                      px_log_checkpoint *out)
{
    uint8_t root[TLOG_HASH_LEN], hash[PX_HASH_LEN], lh[TLOG_HASH_LEN];
    const uint8_t(*proof)[TLOG_HASH_LEN];
    uint8_t pbuf[TLOG_MAX_PROOF][TLOG_HASH_LEN];
    char origin[256], leaf[512], dh[65], eh[65];
    uint64_t size, seq = 0;
    size_t tl, len;
    sqlite3_stmt *st = NULL;
    int n;

    memset(out, 0, sizeof *out);
    if (!ack->log_checkpoint || !ack->log_checkpoint[0])
        return PATROL_OK;
    len = strlen(ack->log_checkpoint);
    if (len >= sizeof out->note ||
        tlog_checkpoint_parse(ack->log_checkpoint, len, origin, sizeof origin, &size, root,
                              &tl) != 0)
        return px_fail(p, PATROL_ETRUST, _("the server's log checkpoint is malformed"));
    if (tlog_note_verify(receipt_key, ack->log_checkpoint, len) != 0)
        return px_fail(p, PATROL_ETRUST, _("the server's log checkpoint is not signed by its "
                                           "receipt key"));
    if (ack->log_leaf) {
        /* The batch's last stored entry: the last one the Ack accepted. */
        for (size_t i = 0; i < ack->n_entries; i++)
            if (ack->entries[i]->status == PATROL__V1__ENTRY_STATUS__ACCEPTED)
                seq = ack->entries[i]->seq;
        if (!seq || ack->n_log_inclusion > TLOG_MAX_PROOF || ack->log_leaf > size)
            return px_fail(p, PATROL_ETRUST, _("the server's log proof names no entry of this "
                                               "batch"));
        for (size_t i = 0; i < ack->n_log_inclusion; i++) {
            if (ack->log_inclusion[i].len != TLOG_HASH_LEN)
                return px_fail(p, PATROL_ETRUST, _("the server's log proof is malformed"));
            memcpy(pbuf[i], ack->log_inclusion[i].data, TLOG_HASH_LEN);
        }
        if (sqlite3_prepare_v2(p->db, "SELECT hash FROM journal WHERE seq = ?", -1, &st, NULL) !=
            SQLITE_OK)
            return px_db_fail(p, sqlite3_errcode(p->db), "reading the journal");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PX_HASH_LEN) {
            sqlite3_finalize(st);
            return px_fail(p, PATROL_ETRUST, _("the server's log proof names entry %llu, which "
                                               "this journal lacks"),
                           (unsigned long long)seq);
        }
        memcpy(hash, sqlite3_column_blob(st, 0), PX_HASH_LEN);
        sqlite3_finalize(st);
        hex(p->device_id, PX_HASH_LEN, dh);
        hex(hash, PX_HASH_LEN, eh);
        n = snprintf(leaf, sizeof leaf, "patrol-entry\n%s\n%llu\n%s\n", dh,
                     (unsigned long long)seq, eh);
        proof = (const uint8_t(*)[TLOG_HASH_LEN])pbuf;
        if (tlog_leaf_hash(leaf, (size_t)n, lh) != 0 ||
            tlog_verify_inclusion(ack->log_leaf - 1, size, lh, proof, ack->n_log_inclusion,
                                  root) != 0)
            return px_fail(p, PATROL_ETRUST, _("the server's log does not prove entry %llu in "
                                               "its checkpoint of %llu leaves"),
                           (unsigned long long)seq, (unsigned long long)size);
    }
    out->present = 1;
    out->size = size;
    memcpy(out->note, ack->log_checkpoint, len + 1);
    return PATROL_OK;
}

int px_sync_log_keep(patrol *p, const uint8_t pin[PX_HASH_LEN], const px_log_checkpoint *c)
{
    char ph[2 * PX_HASH_LEN + 1];
    if (!c->present)
        return PATROL_OK;
    hex(pin, PX_HASH_LEN, ph);
    /* The newest only: a smaller checkpoint (a replayed answer) leaves the
     * stored one. */
    return px_run(p, "INSERT INTO log_checkpoint(server_pin, size, note, received_ms)"
                     " VALUES (?1, ?2, ?3, strftime('%s', 'now') * 1000)"
                     " ON CONFLICT(server_pin) DO UPDATE SET size = excluded.size,"
                     " note = excluded.note, received_ms = excluded.received_ms, cited = 0"
                     " WHERE excluded.size > log_checkpoint.size",
                  "tit", ph, (int64_t)c->size, c->note);
}
