/* sync_status.c -- patrol_sync_status: what is pending, the last receipt
 * and the last refusal, read in one read transaction. Moved from sync.c,
 * behaviour unchanged. */
#include "sync_int.h"

#include <string.h>

#include "i18n.h"
#include "validate.h"

static int status_read(patrol *p, patrol_sync_info *out);

/* Read in one read transaction: a sync storing a receipt meanwhile, or an
 * entry recorded, shows whole or not at all (WAL: no writer waits). */
int patrol_sync_status(patrol *p, patrol_sync_info *out)
{
    int err;
    p->errmsg[0] = '\0';
    memset(out, 0, sizeof *out);
    if ((err = px_exec(p, "BEGIN")))
        return err;
    err = status_read(p, out);
    px_rollback(p);
    return err;
}

static int status_read(patrol *p, patrol_sync_info *out)
{
    sqlite3_stmt *st;
    uint8_t hash[PX_HASH_LEN];
    int64_t v[5];
    int rc, err;

    p->errmsg[0] = '\0';
    memset(out, 0, sizeof *out);
    if ((err = px_journal_head(p, &out->head_seq, hash)))
        return err;
    err = px_get_text(p, out->server_url, sizeof out->server_url, "SELECT url FROM sync_server",
                      "");
    if (err == PATROL_OK) {
        out->enrolled = 1;
        if ((err = px_get_text(p, out->server_name, sizeof out->server_name,
                               "SELECT server_name FROM sync_server", "")))
            return err;
    } else if (err != PATROL_ENOTFOUND) {
        return err;
    }
    if ((err = px_sync_ints(p, "SELECT acked_seq, last_sync_ms, reference_version, rejected_seq"
                       " FROM sync_state",
                            0, 0, v, 4)))
        return err == PATROL_ENOTFOUND ? px_fail(p, PATROL_ECORRUPT, _("the sync state is missing"))
                                       : err;
    out->acked_seq = (uint64_t)v[0];
    out->last_sync_ms = v[1];
    out->reference_version = (uint64_t)v[2];
    out->pending_entries = out->head_seq > out->acked_seq ? out->head_seq - out->acked_seq : 0;
    if (v[3] > 0 && (uint64_t)v[3] > out->acked_seq) {
        out->rejected_seq = (uint64_t)v[3];
        px_get_text(p, out->rejected_reason, sizeof out->rejected_reason,
                    "SELECT rejected_reason FROM sync_state", "");
    }
    if ((err = px_sync_ints(p, "SELECT coalesce(sum(length(entry) + length(sig)), 0) FROM journal"
                       " WHERE seq > ?",
                            1, (int64_t)out->acked_seq, v, 1)))
        return err;
    out->pending_entry_bytes = (uint64_t)v[0];
    if ((err = px_sync_ints(p, "SELECT count(*), coalesce(sum(size), 0) FROM evidence WHERE sha256 NOT IN"
                       " (SELECT sha256 FROM evidence_uploaded)",
                            0, 0, v, 2)))
        return err;
    out->pending_evidence_files = (uint64_t)v[0];
    out->pending_evidence_bytes = (uint64_t)v[1];
    out->pending_bytes = out->pending_entry_bytes + out->pending_evidence_bytes;
    if ((err = px_sync_ints(p, "SELECT count(*) FROM receipts", 0, 0, v, 1)))
        return err;
    out->receipts = (uint64_t)v[0];
    rc = sqlite3_prepare_v2(p->db,
                            "SELECT last_seq, head_hash, server_time_ms FROM receipts"
                            " ORDER BY id DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return px_db_fail(p, rc, _("reading receipts"));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->receipt_seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == PX_HASH_LEN)
            px_format_hex(sqlite3_column_blob(st, 1), PX_HASH_LEN, out->receipt_head);
        out->receipt_server_time_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return px_db_fail(p, rc, _("reading receipts"));
    return PATROL_OK;
}
