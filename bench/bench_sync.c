/* bench_sync.c -- end-to-end record sync: patrol_sync of N journal entries
 * to a real patrold over TLS 1.2 / HTTP/1.1 on 127.0.0.1.
 *
 * Each run is a fresh server and a fresh store:
 *   1. patrold --data D init; device add (the one-time token); serve
 *      --listen 127.0.0.1:0 (the port comes from its "listening" line);
 *   2. in a child: patrol_init, record a realistic patrol until the journal
 *      holds N entries (default 20000: per matter subject.add, matter.open,
 *      consent, 8-24 actions -- action.guidance 55 %, action.warning 20 %,
 *      leaflet 25 % -- with 200-400 bytes of Chinese text in each
 *      guidance and warning, then matter.close (completed); every matter
 *      is a lawful one: market_regulation (BU_DEPARTMENT holds it), a
 *      new subject each (first-violation items cited once), a 告诫 with
 *      its four conditions and a deadline 7 days from today, at least one
 *      method before completion; the texts are runs of an
 *      inspector's usual clauses, or with --text random random CJK
 *      characters, the worst case for LZ4), patrol_enroll with the
 *      token; then it reads the entry sizes from the store's journal
 *      (SQLite, read only) for the raw-size figures;
 *   3. GET /metrics; in another child: patrol_open, then patrol_sync timed
 *      end to end (CLOCK_MONOTONIC); the parent reads the child's peak RSS
 *      and CPU time with wait4;
 *   4. GET /metrics twice more (the second measures what one /metrics
 *      request costs, to take it out), patrold's CPU time and VmHWM from
 *      /proc, the per-batch ingest times from its log; SIGTERM by pid.
 * One more run (not in the medians; --no-wire skips it) goes through a
 * byte-counting TCP relay to count the TLS bytes on the wire: patrold's
 * patrold_bytes_total counts HTTP bytes after decryption.
 *
 * Sizes (per entry): "signed" = entry + signature as stored and sent
 * (patrol_sync_status' pending_entry_bytes); "batch" = the protobuf Batch
 * messages before LZ4 (computed exactly from the entry sizes: SignedEntry
 * and Batch framing, 54 bytes of header per batch); "body" = the LZ4 frames
 * sent (patrol_sync_result.bytes_sent, = patrold_batch_bytes_total);
 * "http" = HTTP requests as patrold read them (headers + bodies, all
 * requests of the sync); "tls" = TCP payload terminal -> server through
 * the relay (TLS records and the handshake).
 *
 * Output: a line per run, the medians, and one JSON line starting with
 * '{"bench":"sync"'.
 *
 *   bench_sync [--patrold PATH] [--entries N] [--runs R] [--dir DIR]
 *              [--text clauses|random] [--no-wire] [--keep] [--timeout S]
 */
#include "sync_harness.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_ENTRIES 20000
#define DEFAULT_RUNS 5
#define MAX_ENTRIES 1000000
#define DEFAULT_TIMEOUT_S 900
#define MAX_LOG_BATCHES 100000

/* ---- the patrol ----------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r) /* splitmix64, upper half */
{
    return (uint32_t)(bu_splitmix64(&r->s) >> 32);
}

static unsigned between(rng *r, unsigned lo, unsigned hi)
{
    return lo + rnd(r) % (hi - lo + 1);
}

/* Clauses an inspector writes; a text is a random run of them. */
static const char *const clauses[] = {
    "现场检查发现经营场所价签信息不全，部分商品未标示规格和计价单位，",
    "执法人员向经营者讲解了《明码标价和禁止价格欺诈规定》的具体要求，",
    "指导其按品名、产地、规格、等级、计价单位、价格逐项标示，",
    "建议建立价签更换台账，由专人每日营业前核对一次，",
    "经营者表示理解并当场整改，现场更换价签十二张，",
    "店外摆放货架约两米，占用人行道，影响行人通行，",
    "告知其《城市市容和环境卫生管理条例》关于门前三包的规定，",
    "当事人系首次被发现，违法行为轻微并及时改正，没有造成危害后果，",
    "已责令其将货架移回店内，并承诺今后不再超出门窗外墙经营，",
    "营业执照未悬挂于醒目位置，已指导其悬挂于收银台上方，",
    "食品经营许可证在有效期内，但从业人员健康证明有两人过期，",
    "提示其在十日内组织复检并将结果报送所在地市场监督管理所，",
    "对照不予处罚清单第二项，符合首违不罚的适用条件，",
    "执法人员出示执法证件，告知当事人有权选择是否接受柔性执法方式，",
    "现场向经营者发放宣传资料并留存送达回执，",
    "下一步将于整改期限届满后开展回访，核查整改落实情况。",
    "周边群众反映夜间噪声扰民，经核实为空调外机老化所致，",
    "指导其联系物业进行维修，并在维修完成前调整营业时间，",
};
#define N_CLAUSES (sizeof clauses / sizeof clauses[0])

static const char *const topics[] = {"明码标价与价签管理", "门前三包责任落实",
                                     "证照公示与从业人员健康管理", "户外广告设置规范",
                                     "噪声扰民防治"};
static const char *const titles[] = {"《明码标价和禁止价格欺诈规定》解读",
                                     "门前三包责任告知书", "食品经营者主体责任清单",
                                     "城市管理领域不予处罚清单（2026年版）",
                                     "户外招牌设置技术导则（简本）"};
static const char *const forms[] = {"oral", "written", "materials"};
/* Items of the domain BU_DEPARTMENT holds (the terminal may open matters
 * in no other); four entries, as many draws as before. */
static const char *const items[][2] = {{"market_regulation", "SJ-NP-002"},
                                       {"market_regulation", "SJ-NP-001"},
                                       {"market_regulation", "SJ-NP-002"},
                                       {"market_regulation", "SJ-NP-001"}};

/* 1: texts are random CJK characters (no repetition for LZ4 to find: the
 * worst case for the wire size); 0: runs of the clauses above. */
static int random_text;

/* A text of lo..hi bytes (whole clauses; the last one may pass hi), numbered. */
static void make_text(rng *r, char *buf, size_t len, size_t lo, size_t hi, unsigned no)
{
    size_t target = between(r, (unsigned)lo, (unsigned)hi), n;
    n = (size_t)snprintf(buf, len, "第%u项：", no);
    while (random_text && n < target && n + 4 < len) {
        /* U+4E00..U+9FA5, a full stop now and then (UTF-8: 3 bytes each) */
        unsigned cp = rnd(r) % 16 == 0 ? 0x3002u : 0x4E00u + rnd(r) % 0x51A6u;
        buf[n++] = (char)(0xE0 | (cp >> 12));
        buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[n++] = (char)(0x80 | (cp & 0x3F));
        buf[n] = '\0';
    }
    while (n < target && n < len) {
        const char *c = clauses[rnd(r) % N_CLAUSES];
        size_t cl = strlen(c);
        if (n + cl + 1 > len)
            break;
        memcpy(buf + n, c, cl + 1);
        n += cl;
    }
}

/* GB 32100-2015 unified social credit code, distinct per i. */
static void credit_code(unsigned i, char out[19])
{
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const unsigned w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    unsigned sum = 0, check;
    snprintf(out, 19, "91350102MA%07u", i % 10000000u);
    for (int k = 0; k < 17; k++)
        sum += w[k] * (unsigned)(strchr(alpha, out[k]) - alpha);
    check = 31 - sum % 31;
    out[17] = alpha[check == 31 ? 0 : check];
    out[18] = '\0';
}

typedef struct rec_job {
    const char *store;
    const char *url;
    const char *token;
    unsigned long entries;
} rec_job;

typedef struct rec_out {
    int rc;
    char msg[300];
    uint64_t record_ns;
    uint64_t head_seq;
    uint64_t kinds[4]; /* guidance, warning, leaflet, other */
    uint64_t signed_bytes;      /* sum of entry + sig */
    uint64_t batch_entry_bytes; /* sum of each entry's framing in a Batch */
    uint64_t min_entry, max_entry;
} rec_out;

static int rec(patrol *p, const patrol_record_in *in, patrol_saved *s, rec_out *o)
{
    return bu_record(p, in, s, o->msg, sizeof o->msg);
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Entry sizes from the journal (the store is closed: no writer). */
static int journal_sizes(const char *store, rec_out *o)
{
    char path[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/patrol.db", store);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT length(entry), length(sig) FROM journal ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK) {
        snprintf(o->msg, sizeof o->msg, "reading %.150s: %.100s", path, db ? sqlite3_errmsg(db) : "");
        sqlite3_close(db);
        return -1;
    }
    o->min_entry = UINT64_MAX;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t e = (uint64_t)sqlite3_column_int64(st, 0), g = (uint64_t)sqlite3_column_int64(st, 1);
        /* SignedEntry {1: entry, 2: sig} inside Batch field 4. */
        uint64_t se = 1 + varint_len(e) + e + 1 + varint_len(g) + g;
        o->signed_bytes += e + g;
        o->batch_entry_bytes += 1 + varint_len(se) + se;
        if (e < o->min_entry)
            o->min_entry = e;
        if (e > o->max_entry)
            o->max_entry = e;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_DONE) {
        snprintf(o->msg, sizeof o->msg, "reading the journal failed");
        return -1;
    }
    return 0;
}

/* The patrol the sync benchmarks record (bench_sync, pouch_records,
 * bench/shift's terminals): two inspectors, then matters of subject.add,
 * matter.open, consent, sh->act_lo..act_hi actions (guidance 55 %,
 * warning 20 %, leaflet 25 %) and matter.close, until the journal holds
 * entries; r drives every choice, so a seed gives the same records. tag 0
 * names bench_sync's subjects; another tag gives a terminal subjects of
 * its own (credit codes tag*1000+i). 0, or o->rc with o->msg. */
typedef struct patrol_shape {
    unsigned act_lo, act_hi;
    unsigned long tag;
} patrol_shape;

static int record_patrol(patrol *p, rng *r, uint64_t entries, const patrol_shape *sh, rec_out *o,
                         unsigned *matters, uint64_t *head)
{
    static const char *const insp[] = {"INS-0001", "INS-0002"};
    patrol_saved s;
    patrol_record_in in;
    patrol_location loc = {260822350, 1192963200, 8};
    char text[1024], text2[512], matter[PATROL_ID_MAX], code[19], copies[8], deadline[11];
    unsigned subjects = 0, actions_left = 0, no = 0, methods = 0;

    memset(&s, 0, sizeof s);
    bu_beijing_date(7, deadline);
    for (int i = 0; i < 2; i++) {
        const patrol_field f[] = {{"cert_no", i ? "ZJ35010200022" : "ZJ35010200011",
                                   PATROL_CONF_NONE},
                                  {"name", i ? "林晓燕" : "王建国", PATROL_CONF_NONE}};
        memset(&in, 0, sizeof in);
        in.kind = "inspector.add";
        in.target = insp[i];
        in.fields = f;
        in.n_fields = 2;
        if ((o->rc = rec(p, &in, &s, o)))
            return o->rc;
    }
    matter[0] = '\0';
    while (s.seq < entries) {
        patrol_field f[8];
        size_t nf = 0;
        memset(&in, 0, sizeof in);
        in.location = &loc;
        loc.lat_e7 += (int64_t)between(r, 0, 400) - 200; /* the inspector walks */
        loc.lon_e7 += (int64_t)between(r, 0, 400) - 200;
        if (!matter[0]) {
            /* A new subject and matter: subject.add, matter.open, consent. */
            char name[160], addr[160];
            const char *const *it = items[rnd(r) % 4];
            ++subjects;
            credit_code((unsigned)(sh->tag * 1000u) + subjects, code);
            if (sh->tag)
                snprintf(name, sizeof name, "福州市鼓楼区示例%lu-%u号商贸有限公司", sh->tag, subjects);
            else
                snprintf(name, sizeof name, "福州市鼓楼区示例%u号商贸有限公司", subjects);
            snprintf(addr, sizeof addr, "福州市鼓楼区五四路%u号", between(r, 1, 400));
            f[nf++] = (patrol_field){"credit_code", code, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"name", name, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"address", addr, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"legal_rep", "陈明", PATROL_CONF_PERSONAL_PRIVACY};
            f[nf++] = (patrol_field){"type", "business", PATROL_CONF_NONE};
            in.kind = "subject.add";
            in.fields = f;
            in.n_fields = nf;
            if ((o->rc = rec(p, &in, &s, o)))
                return o->rc;
            o->kinds[3]++;
            if (s.seq >= entries)
                break;
            nf = 0;
            make_text(r, text, sizeof text, 60, 150, ++no);
            f[nf++] = (patrol_field){"domain", it[0], PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"subject", s.id, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"summary", text, PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"list_item", it[1], PATROL_CONF_NONE};
            in.kind = "matter.open";
            in.inspectors = insp;
            in.n_inspectors = 2;
            in.fields = f;
            in.n_fields = nf;
            if ((o->rc = rec(p, &in, &s, o)))
                return o->rc;
            o->kinds[3]++;
            (*matters)++;
            snprintf(matter, sizeof matter, "%s", s.id);
            if (s.seq >= entries)
                break;
            nf = 0;
            f[nf++] = (patrol_field){"answer", "accept", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"form", "oral", PATROL_CONF_NONE};
            f[nf++] = (patrol_field){"told", "yes", PATROL_CONF_NONE};
            in.kind = "consent";
            in.target = matter;
            in.inspectors = NULL;
            in.n_inspectors = 0;
            in.fields = f;
            in.n_fields = nf;
            if ((o->rc = rec(p, &in, &s, o)))
                return o->rc;
            o->kinds[3]++;
            actions_left = between(r, sh->act_lo, sh->act_hi);
            methods = 0;
            continue;
        }
        in.target = matter;
        if (actions_left == 0) {
            f[nf++] = (patrol_field){"outcome", "completed", PATROL_CONF_NONE};
            in.kind = "matter.close";
            in.fields = f;
            in.n_fields = nf;
            if ((o->rc = rec(p, &in, &s, o)))
                return o->rc;
            o->kinds[3]++;
            matter[0] = '\0';
            continue;
        }
        actions_left--;
        {
            unsigned pick = between(r, 0, 99);
            /* Completion needs a method: leaflets alone are none. */
            if (actions_left == 0 && methods == 0 && pick >= 75)
                pick = 0;
            if (pick < 75)
                methods++;
            if (pick < 55) {
                make_text(r, text, sizeof text, 200, 400, ++no);
                f[nf++] = (patrol_field){"content", text, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"form", forms[rnd(r) % 3], PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"topic", topics[rnd(r) % 5], PATROL_CONF_NONE};
                in.kind = "action.guidance";
                o->kinds[0]++;
            } else if (pick < 75) {
                make_text(r, text, sizeof text, 200, 400, ++no);
                make_text(r, text2, sizeof text2, 40, 100, no);
                f[nf++] = (patrol_field){"content", text, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"correctable", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"correction", text2, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"deadline", deadline, PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"minor", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"no_harm", "yes", PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"no_intent", "yes", PATROL_CONF_NONE};
                in.kind = "action.warning";
                o->kinds[1]++;
            } else {
                snprintf(copies, sizeof copies, "%u", between(r, 1, 5));
                f[nf++] = (patrol_field){"title", titles[rnd(r) % 5], PATROL_CONF_NONE};
                f[nf++] = (patrol_field){"copies", copies, PATROL_CONF_NONE};
                in.kind = "leaflet";
                o->kinds[2]++;
            }
        }
        in.fields = f;
        in.n_fields = nf;
        if ((o->rc = rec(p, &in, &s, o)))
            return o->rc;
    }
    *head = s.seq;
    return 0;
}

static void child_record(const void *arg, void *res)
{
    static const patrol_shape shape = {8, 24, 0};
    const rec_job *j = arg;
    rec_out *o = res;
    rng r = {20261126};
    patrol *p = NULL;
    patrol_enrolment en;
    char err[256];
    unsigned matters = 0;
    uint64_t t0;

    if ((o->rc = patrol_init(j->store, BU_DEPARTMENT, "bench-handheld", &p, err, sizeof err))) {
        snprintf(o->msg, sizeof o->msg, "init: %.200s", err);
        return;
    }
    t0 = bu_now_ns();
    if (record_patrol(p, &r, j->entries, &shape, o, &matters, &o->head_seq))
        goto exit;
    o->record_ns = bu_now_ns() - t0;
    if ((o->rc = patrol_enroll(p, j->url, j->token, 0, &en)))
        snprintf(o->msg, sizeof o->msg, "enroll %s: %s: %.200s", j->url, patrol_strerror(o->rc),
                 patrol_errmsg(p));
exit:
    patrol_close(p);
    if (!o->rc && journal_sizes(j->store, o) != 0)
        o->rc = -1;
}

/* ---- one run ---------------------------------------------------------------- */

typedef struct run_fig {
    double sync_s, eps, record_eps;
    uint64_t entries, batches, kinds[4];
    uint64_t signed_b, batch_b, body_b, metric_body_b, http_in, http_out, tls_up, tls_down;
    uint64_t requests, conns, hs_full, hs_resumed, relay_conns;
    uint64_t min_entry, max_entry;
    double hist_p50_ms, log_p50_ms, log_p90_ms, log_max_ms, ingest_sum_s;
    double client_cpu_s, server_cpu_s, client_rss_mib, server_hwm_mib;
    double phase_entries_s, phase_ref_s;
} run_fig;

/* Nearest-rank quantile of v[0..n), which it sorts; -1 if n <= 0. */
static double log_quantile(double *v, long n, double q)
{
    if (n <= 0)
        return -1;
    bu_sort_d(v, (size_t)n);
    return bu_pct_d(v, (size_t)n, q);
}

static int run_once(const char *patrold, const char *dir, unsigned long entries, int wire,
                    unsigned timeout_s, run_fig *f)
{
    static double ms[MAX_LOG_BATCHES];
    char srvdir[4300], store[4300], err[512];
    bs_server srv;
    bs_relay relay;
    rec_job rj;
    rec_out ro;
    bs_sync_job sj;
    bs_sync_out so;
    bs_metrics m0, m1, m2, d;
    struct rusage ru;
    uint64_t up0 = 0, down0 = 0, c0 = 0, up1 = 0, down1 = 0, c1 = 0;
    double cpu0, cpu1;
    long nlog;
    int rc = -1, have_relay = 0;

    memset(f, 0, sizeof *f);
    memset(&relay, 0, sizeof relay);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "bench_sync: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(srvdir, sizeof srvdir, "%s/srv", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    if (bs_server_start(patrold, srvdir, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    rj.store = store;
    rj.url = srv.url;
    rj.token = srv.token;
    rj.entries = entries;
    if (wire) {
        static char url[64];
        if (bs_relay_start(srv.port, &relay, err, sizeof err) != 0) {
            fprintf(stderr, "bench_sync: %s\n", err);
            goto out;
        }
        have_relay = 1;
        snprintf(url, sizeof url, "https://127.0.0.1:%u", relay.port);
        rj.url = url;
    }
    if (bu_in_child(child_record, &rj, &ro, sizeof ro, NULL, NULL) != 0 || ro.rc) {
        fprintf(stderr, "bench_sync: recording: %s\n", ro.msg[0] ? ro.msg : "child died");
        goto out;
    }
    if (have_relay && bs_relay_snapshot(&relay, &up0, &down0, &c0) != 0) {
        fprintf(stderr, "bench_sync: relay does not answer\n");
        goto out;
    }
    if (bs_metrics_get(srv.port, &m0, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        goto out;
    }
    cpu0 = bs_proc_cpu_s(srv.pid);
    sj.store = store;
    sj.timeout_s = timeout_s;
    if (bu_in_child(bs_sync_child, &sj, &so, sizeof so, &ru, NULL) != 0 || so.rc) {
        fprintf(stderr, "bench_sync: %s\n", so.msg[0] ? so.msg : "sync child died");
        goto out;
    }
    cpu1 = bs_proc_cpu_s(srv.pid);
    if (bs_metrics_get(srv.port, &m1, err, sizeof err) != 0 ||
        bs_metrics_get(srv.port, &m2, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        goto out;
    }
    if (have_relay && bs_relay_snapshot(&relay, &up1, &down1, &c1) != 0) {
        fprintf(stderr, "bench_sync: relay does not answer\n");
        goto out;
    }
    f->server_hwm_mib = (double)bs_proc_hwm_kib(srv.pid) / 1024.0;
    bs_metrics_delta(&m0, &m1, &m2, &d);

    if (so.after.acked_seq != ro.head_seq || so.r.entries_accepted != ro.head_seq ||
        d.entries_accepted != ro.head_seq || so.before.pending_entry_bytes != ro.signed_bytes) {
        fprintf(stderr,
                "bench_sync: the sync did not do what it should: head %llu, acked %llu, "
                "accepted %llu (server %llu), pending bytes %llu vs journal %llu\n",
                (unsigned long long)ro.head_seq, (unsigned long long)so.after.acked_seq,
                (unsigned long long)so.r.entries_accepted,
                (unsigned long long)d.entries_accepted,
                (unsigned long long)so.before.pending_entry_bytes,
                (unsigned long long)ro.signed_bytes);
        goto out;
    }
    f->entries = ro.head_seq;
    memcpy(f->kinds, ro.kinds, sizeof f->kinds);
    f->record_eps = (double)ro.head_seq / ((double)ro.record_ns / 1e9);
    f->sync_s = (double)so.ns / 1e9;
    f->eps = (double)ro.head_seq / f->sync_s;
    f->batches = so.r.batches;
    f->signed_b = ro.signed_bytes;
    /* Batch header: protocol (2), batch_id (2 + 16), device (2 + 32). */
    f->batch_b = ro.batch_entry_bytes + 54 * so.r.batches;
    f->body_b = so.r.bytes_sent;
    f->metric_body_b = d.batch_bytes;
    f->http_in = d.bytes_in;
    f->http_out = d.bytes_out;
    f->tls_up = up1 - up0;
    f->tls_down = down1 - down0;
    f->relay_conns = c1 - c0;
    f->requests = d.requests;
    f->conns = d.connections;
    f->hs_full = d.handshakes_full;
    f->hs_resumed = d.handshakes_resumed;
    f->min_entry = ro.min_entry;
    f->max_entry = ro.max_entry;
    f->hist_p50_ms = bs_hist_quantile(&d, 0.5) * 1000;
    f->ingest_sum_s = d.lat_sum_s;
    nlog = bs_log_batch_ms(srv.log, ms, MAX_LOG_BATCHES);
    f->log_p50_ms = log_quantile(ms, nlog, 0.5);
    f->log_p90_ms = log_quantile(ms, nlog, 0.9);
    f->log_max_ms = nlog > 0 ? ms[nlog - 1] : -1;
    f->client_cpu_s = bu_rusage_cpu_s(&ru);
    f->server_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    f->client_rss_mib = (double)ru.ru_maxrss / 1024.0;
    f->phase_entries_s = (double)so.phase_ns[0] / 1e9;
    f->phase_ref_s = (double)so.phase_ns[2] / 1e9;
    rc = 0;
out:
    if (have_relay)
        bs_relay_stop(&relay);
    bs_server_stop(&srv);
    return rc;
}

static void print_run(const char *label, const run_fig *f)
{
    double n = (double)f->entries;
    printf("%s: %llu entries in %.3f s = %.0f entries/s; %llu batches; ingest p50 %.1f ms "
           "(log) / %.1f ms (histogram), sum %.2f s; CPU client %.2f s server %.2f s; "
           "RSS client %.1f MiB server %.1f MiB; bytes/entry signed %.1f batch %.1f body %.1f "
           "http-in %.1f",
           label, (unsigned long long)f->entries, f->sync_s, f->eps,
           (unsigned long long)f->batches, f->log_p50_ms, f->hist_p50_ms, f->ingest_sum_s,
           f->client_cpu_s, f->server_cpu_s, f->client_rss_mib, f->server_hwm_mib,
           (double)f->signed_b / n, (double)f->batch_b / n, (double)f->body_b / n,
           (double)f->http_in / n);
    if (f->tls_up)
        printf(" tls-up %.1f tls-down %.1f (%llu connection%s)", (double)f->tls_up / n,
               (double)f->tls_down / n, (unsigned long long)f->relay_conns,
               f->relay_conns == 1 ? "" : "s");
    printf("\n");
    fflush(stdout);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_sync [--patrold PATH] [--entries N] [--runs R] [--dir DIR]\n"
            "                  [--text clauses|random] [--no-wire] [--keep] [--timeout S]\n"
            "  --patrold PATH  the server (default: $PATROLD, else the one this build made)\n"
            "  --entries N     journal entries to sync per run (default %d)\n"
            "  --runs R        timed runs, each with a fresh server and store (default %d)\n"
            "  --dir DIR       work under DIR (default $TMPDIR or /tmp)\n"
            "  --text T        clauses: texts made of an inspector's usual clauses (default);\n"
            "                  random: random CJK characters (the worst case for LZ4)\n"
            "  --no-wire       skip the extra run through the byte-counting relay\n"
            "  --keep          leave the work directory in place\n"
            "  --timeout S     patrol_sync time limit (default %d)\n",
            DEFAULT_ENTRIES, DEFAULT_RUNS, DEFAULT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
    unsigned long entries = DEFAULT_ENTRIES, runs = DEFAULT_RUNS, timeout = DEFAULT_TIMEOUT_S;
    const char *parent = bu_tmp_parent(), *explicit_path = NULL, *text = "clauses";
    char patrold[4096], base[4096], dir[4200];
    static run_fig fig[BS_MAX_RUNS];
    run_fig w;
    double v[9][BS_MAX_RUNS];
    int keep = 0, no_wire = 0, wire, ret = 1, have_wire = 0, rc;
    const bu_opt opts[] = {{"--entries", &entries, 10, MAX_ENTRIES, NULL, NULL},
                           {"--runs", &runs, 1, BS_MAX_RUNS, NULL, NULL},
                           {"--timeout", &timeout, 1, 86400, NULL, NULL},
                           {"--patrold", NULL, 0, 0, &explicit_path, NULL},
                           {"--dir", NULL, 0, 0, &parent, NULL},
                           {"--text", NULL, 0, 0, &text, NULL},
                           {"--no-wire", NULL, 0, 0, NULL, &no_wire},
                           {"--keep", NULL, 0, 0, NULL, &keep}};

    if ((rc = bu_parse_args("bench_sync", argc, argv, opts, sizeof opts / sizeof opts[0],
                            usage)) >= 0)
        return rc;
    if (strcmp(text, "random") == 0)
        random_text = 1;
    else if (strcmp(text, "clauses") != 0) {
        fprintf(stderr, "bench_sync: --text: clauses or random\n");
        return 2;
    }
    wire = !no_wire;
    if (bs_find_patrold(explicit_path, patrold, sizeof patrold) != 0) {
        fprintf(stderr, "bench_sync: no patrold found (give --patrold PATH or set PATROLD)\n");
        return 2;
    }
    if ((rc = bu_make_workdir("bench_sync", parent, "patrol-bench-sync", base, sizeof base)))
        return rc;
    printf("sync: %lu entries x %lu runs, texts: %s; fresh patrold + store each (libpatrol %s, "
           "%s)\nwork dir %s\n",
           entries, runs, random_text ? "random CJK characters" : "clauses", patrol_version(),
           patrold, base);
    fflush(stdout);
    for (unsigned long r = 0; r < runs; r++) {
        char label[32];
        snprintf(dir, sizeof dir, "%s/run-%lu", base, r + 1);
        if (run_once(patrold, dir, entries, 0, (unsigned)timeout, &fig[r]) != 0)
            goto exit;
        snprintf(label, sizeof label, "run %lu", r + 1);
        print_run(label, &fig[r]);
        if (!keep)
            bu_rm_rf(dir);
    }
    if (wire) {
        snprintf(dir, sizeof dir, "%s/run-wire", base);
        if (run_once(patrold, dir, entries, 1, (unsigned)timeout, &w) != 0)
            goto exit;
        print_run("wire run (through the relay; not in the medians)", &w);
        have_wire = 1;
        if (!keep)
            bu_rm_rf(dir);
    }
    for (unsigned long r = 0; r < runs; r++) {
        v[0][r] = fig[r].eps;
        v[1][r] = fig[r].sync_s;
        v[2][r] = fig[r].log_p50_ms;
        v[3][r] = fig[r].hist_p50_ms;
        v[4][r] = fig[r].client_cpu_s;
        v[5][r] = fig[r].server_cpu_s;
        v[6][r] = fig[r].client_rss_mib;
        v[7][r] = fig[r].server_hwm_mib;
        v[8][r] = fig[r].ingest_sum_s;
    }
    {
        const run_fig *a = &fig[0];
        double n = (double)a->entries;
        double eps = bu_median(v[0], runs), secs = bu_median(v[1], runs);
        double lp50 = bu_median(v[2], runs), hp50 = bu_median(v[3], runs);
        double ccpu = bu_median(v[4], runs), scpu = bu_median(v[5], runs);
        double crss = bu_median(v[6], runs), shwm = bu_median(v[7], runs);
        double isum = bu_median(v[8], runs);
        printf("\nentries: %llu (guidance %llu, warning %llu, leaflet %llu, other %llu); "
               "entry %llu..%llu bytes\n",
               (unsigned long long)a->entries, (unsigned long long)a->kinds[0],
               (unsigned long long)a->kinds[1], (unsigned long long)a->kinds[2],
               (unsigned long long)a->kinds[3] + (a->entries - a->kinds[0] - a->kinds[1] -
                                                  a->kinds[2] - a->kinds[3]),
               (unsigned long long)a->min_entry, (unsigned long long)a->max_entry);
        printf("sync (median of %lu runs): %.3f s, %.0f entries/s; %llu batches "
               "(%.0f entries each); recording ran at %.0f entries/s\n",
               runs, secs, eps, (unsigned long long)a->batches, n / (double)a->batches,
               a->record_eps);
        printf("server ingest per batch: p50 %.1f ms (log), %.1f ms (histogram estimate), "
               "p90 %.1f ms, max %.1f ms; all batches %.2f s = %.0f %% of the sync\n",
               lp50, hp50, a->log_p90_ms, a->log_max_ms, isum, 100 * isum / secs);
        printf("CPU during the sync: client %.2f s, server %.2f s (%.0f %% and %.0f %% of "
               "the wall time); peak RSS client %.1f MiB, server %.1f MiB\n",
               ccpu, scpu, 100 * ccpu / secs, 100 * scpu / secs, crss, shwm);
        printf("requests %llu on %llu connection(s): %llu full and %llu resumed handshakes\n",
               (unsigned long long)a->requests, (unsigned long long)a->conns,
               (unsigned long long)a->hs_full, (unsigned long long)a->hs_resumed);
        printf("bytes per entry (run 1): signed entry %.1f | protobuf Batch %.1f | LZ4 body "
               "%.1f (patrold_batch_bytes_total %.1f) | HTTP in %.1f, out %.1f",
               (double)a->signed_b / n, (double)a->batch_b / n, (double)a->body_b / n,
               (double)a->metric_body_b / n, (double)a->http_in / n, (double)a->http_out / n);
        if (have_wire)
            printf(" | TLS up %.1f, down %.1f", (double)w.tls_up / n, (double)w.tls_down / n);
        printf("\nratios: body/batch %.3f, body/signed %.3f, http-in/signed %.3f",
               (double)a->body_b / (double)a->batch_b, (double)a->body_b / (double)a->signed_b,
               (double)a->http_in / (double)a->signed_b);
        if (have_wire)
            printf(", tls-up/signed %.3f, tls-up/http-in %.4f",
                   (double)w.tls_up / (double)w.signed_b, (double)w.tls_up / (double)w.http_in);
        printf("\n");
        printf("{\"bench\":\"sync\",\"entries\":%llu,\"runs\":%lu,\"sync_s\":%.3f,"
               "\"entries_per_s\":%.1f,\"batches\":%llu,\"ingest_p50_ms\":%.2f,"
               "\"ingest_p50_hist_ms\":%.2f,\"ingest_sum_s\":%.3f,\"client_cpu_s\":%.3f,"
               "\"server_cpu_s\":%.3f,\"client_rss_mib\":%.1f,\"server_hwm_mib\":%.1f,"
               "\"signed_bytes\":%llu,\"batch_bytes\":%llu,\"body_bytes\":%llu,"
               "\"http_in_bytes\":%llu,\"http_out_bytes\":%llu,\"tls_up_bytes\":%llu,"
               "\"tls_down_bytes\":%llu,\"record_entries_per_s\":%.1f,\"text\":\"%s\"}\n",
               (unsigned long long)a->entries, runs, secs, eps, (unsigned long long)a->batches,
               lp50, hp50, isum, ccpu, scpu, crss, shwm, (unsigned long long)a->signed_b,
               (unsigned long long)a->batch_b, (unsigned long long)a->body_b,
               (unsigned long long)a->http_in, (unsigned long long)a->http_out,
               (unsigned long long)(have_wire ? w.tls_up : 0),
               (unsigned long long)(have_wire ? w.tls_down : 0), a->record_eps,
               random_text ? "random" : "clauses");
    }
    ret = 0;
exit:
    if (!keep)
        bu_rm_rf(base);
    else
        fprintf(stderr, "bench_sync: work kept in %s\n", base);
    return ret;
}
