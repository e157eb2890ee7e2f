/* shaped_day.c -- an inspector's day recorded into a store, for the
 * shaped-link benchmark (docs/bench.md "Shaped link (issue 11)") and any
 * other that wants a realistic journal: about 40 matters and 300 entries
 * of every kind, with Chinese text, and the photos and audio clips that
 * bench/shaped/media.sh made, imported as evidence.
 *
 *   shaped_day --store DIR --media DIR [--seed N] [--matters N]
 *              [--entries N] [--photos N] [--audio N] [--verbose]
 *
 * DIR is a store made by `patrol init` (enrolled or not). Public API only.
 * The kinds and their fields come from the rules table as the library
 * exposes it (patrol_kind_name, patrol_kind_field, patrol_kind_target,
 * patrol_matter_row, patrol_matter_allows): there is no list of kinds
 * here. Six kinds have a fixed place in the day's shape: shift.start
 * first, shift.end last, matter.open, then consent (the rules refuse any
 * method before it), ... matter.close in a matter, evidence.add through
 * patrol_evidence_add. Every other kind the table has is tried in an
 * order drawn from the state table (see matter_step); its fields are
 * drawn at random by their type (text, line, choice, date ...) and, for
 * fields whose values must name something that exists (a domain, a
 * subject, a department, a leaflet, a list item), from the store's
 * reference data. patrol_record_check is the oracle: a draw the rules
 * refuse is drawn again (at most 24 times), a kind the matter's state does
 * not allow now is skipped. Deterministic for a seed, apart from the
 * entries' times and signatures. Prints one JSON line: entries, matters,
 * entries per kind, evidence files and bytes; kinds never recorded go to
 * stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <patrol/patrol.h>

#include "../bench_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_KINDS 64
#define MAX_FIELDS 24
#define MAX_MEDIA 512
#define MAX_POOL 256
#define TRIES 24
#define VAL_LEN 1024

/* ---- seeded randomness (xorshift64*) -------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static unsigned rnd_below(unsigned n)
{
    return n ? (unsigned)(rnd() % n) : 0;
}

static int chance(unsigned percent)
{
    return rnd_below(100) < percent;
}

#define PICK(a) ((a)[rnd_below((unsigned)N(a))])

/* ---- Chinese text: a county's urban management and market patrol ----- */

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴",
                                       "徐", "孙", "朱", "马", "胡", "郭", "林", "何", "高", "罗"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇",
                                    "艳", "杰", "涛", "明", "超", "秀英", "建华", "志刚", "海燕",
                                    "晓东", "桂兰", "国平", "玉梅", "春生"};
static const char *const towns[] = {"众兴镇", "洋河镇", "爱园镇", "王集镇", "裴圩镇", "新袁镇",
                                    "李口镇", "临河镇"};
static const char *const streets[] = {"人民路", "众兴路", "北京路", "上海路", "长春路", "洋河大道",
                                      "文城路", "健康路", "运河路", "桃源路", "淮海路", "东风路"};
static const char *const shop_names[] = {"华联", "金鑫", "百味", "鸿运", "福满楼", "惠民", "佳佳",
                                         "新时代", "老街", "顺发", "聚鲜", "永安", "好邻居", "红星"};
static const char *const shop_types[] = {"便利店", "餐饮店", "五金店", "汽车维修部", "水果店",
                                         "服装店", "理发店", "烧烤店", "建材商行", "超市",
                                         "快递驿站", "农资店", "家电维修部", "面馆"};
static const char *const found[] = {
    "执法人员巡查时发现该店在店外摆放商品，占用人行道约%u平方米",
    "经群众投诉，该店夜间烧烤油烟直排，影响周边居民休息",
    "现场检查发现店招破损、固定螺栓锈蚀，存在坠落隐患",
    "该店门前堆放纸箱等杂物，占用消防通道约%u米",
    "店内商品未明码标价，部分商品价签与实际售价不符",
    "该维修部在人行道上洗车、修车，污水流入雨水井",
    "门前三包责任区内垃圾未及时清理，垃圾桶满溢",
    "该店擅自在外墙设置广告横幅%u条，未办理设置手续",
    "餐饮店油烟净化设施未按规定清洗，最近一次清洗记录为%u个月前",
    "流动摊点在路口占道经营，影响行人和非机动车通行"};
static const char *const rules_text[] = {
    "依据《城市市容和环境卫生管理条例》第十四条，临街商户不得超出门窗外墙摆卖",
    "依据《江苏省城市市容和环境卫生管理条例》，沿街单位应当履行门前三包责任",
    "依据《中华人民共和国大气污染防治法》第八十一条，排放油烟的餐饮服务业经营者应当安装油烟净化设施并保持正常使用",
    "依据《城市道路管理条例》第二十七条，禁止在城市道路上从事非法挖掘、洗车、修车等活动",
    "依据《中华人民共和国价格法》第十三条，经营者销售商品应当明码标价",
    "依据《江苏省户外广告管理办法》，设置户外广告应当办理审批手续并保证设施安全"};
static const char *const acted[] = {
    "执法人员向当事人出示执法证件，说明检查事由及其享有的权利",
    "执法人员向店主讲解相关规定及违法后果，并发放宣传资料",
    "执法人员指导当事人制定整改方案，明确整改标准和时限",
    "执法人员对现场情况拍照取证，并告知当事人可以选择柔性执法方式",
    "执法人员建议当事人建立门前三包日常巡查制度，指定专人负责",
    "执法人员提示当事人同类问题在本辖区多次发生，请引以为戒"};
static const char *const reaction[] = {
    "当事人表示认可，承诺立即整改", "店主当场将商品搬回店内，恢复人行道通行",
    "当事人称因客流增加临时摆放，表示今后不再发生", "当事人对检查无异议，签字确认",
    "当事人表示需要三天时间联系维修人员", "当事人态度配合，现场清理完毕",
    "当事人提出希望得到规范设置广告的书面指导"};
static const char *const topics[] = {"门前三包责任落实", "店招店牌安全管理", "油烟净化设施维护",
                                     "明码标价规范",     "消防通道畅通",     "垃圾分类投放",
                                     "户外广告设置规范", "占道经营整治"};
static const char *const channels[] = {"泗阳县人民政府网站", "“泗阳城管”微信公众号",
                                       "社区公告栏", "县融媒体中心"};
static const char *const captions[] = {"店外摆卖现场", "整改后现场", "店招固定情况", "油烟排放口",
                                       "门前堆放杂物", "价签照片", "广告横幅", "人行道占用情况",
                                       "约谈现场", "送达现场"};

/* Appends to buf (of len) what fmt makes, never past the end. */
static void cat(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    if (n + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

static void person(char *out, size_t len)
{
    snprintf(out, len, "%s%s", PICK(surnames), PICK(given));
}

/* A paragraph: what was found, the rules, what was done, the answer. */
static void paragraph(char *out, size_t len)
{
    out[0] = '\0';
    cat(out, len, PICK(found), 2 + rnd_below(6));
    cat(out, len, "。");
    if (chance(70))
        cat(out, len, "%s。", PICK(rules_text));
    cat(out, len, "%s。", PICK(acted));
    if (chance(60))
        cat(out, len, "%s。", PICK(reaction));
}

/* ---- the store's reference data -------------------------------------- */

typedef struct pool {
    char v[MAX_POOL][PATROL_ID_MAX];
    unsigned n;
} pool;

static void pool_add(pool *pl, const char *v)
{
    if (pl->n < MAX_POOL && strlen(v) < PATROL_ID_MAX)
        snprintf(pl->v[pl->n++], PATROL_ID_MAX, "%s", v);
}

static const char *pool_pick(const pool *pl)
{
    return pl->n ? pl->v[rnd_below(pl->n)] : "X";
}

static int on_domain(void *ud, const patrol_domain_view *d)
{
    if (d->flexible && d->held)
        pool_add(ud, d->code);
    return 0;
}
static int on_department(void *ud, const patrol_department_view *d)
{
    pool_add(ud, d->code);
    return 0;
}
static int on_leaflet(void *ud, const patrol_leaflet_view *l)
{
    pool_add(ud, l->code);
    return 0;
}
static int on_list_item(void *ud, const patrol_list_item_view *it)
{
    pool_add(ud, it->code);
    return 0;
}

/* ---- the day --------------------------------------------------------- */

typedef struct kind {
    const char *name;
    const char *target; /* patrol_kind_target */
    int matter_row;     /* a row of the matter state table */
    int after_consent;  /* ... only after the subject accepted */
    unsigned count;     /* recorded today */
} kind;

typedef struct made {
    uint64_t seq;
    const char *kind;
    char id[PATROL_ID_MAX];
} made;

typedef struct day {
    patrol *p;
    kind kinds[MAX_KINDS];
    unsigned nkinds;
    pool domains, departments, leaflets, list_items, subjects, inspectors;
    char today[16];
    patrol_location loc;
    uint64_t entries; /* journal entries after the last record */
    int verbose;
    /* The matter being recorded. */
    char matter[PATROL_ID_MAX], subject[PATROL_ID_MAX];
    made made[64];
    unsigned nmade;
} day;

static kind *find_kind(day *d, const char *name)
{
    for (unsigned i = 0; i < d->nkinds; i++)
        if (strcmp(d->kinds[i].name, name) == 0)
            return &d->kinds[i];
    return NULL;
}

static void credit_code(char *out)
{
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const unsigned w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    unsigned sum = 0, check;
    /* 9: registered by industry and commerce, 2: sole trader; 321323: 泗阳县. */
    memcpy(out, chance(50) ? "92321323" : "91321323", 8);
    for (int i = 8; i < 17; i++)
        out[i] = alpha[rnd_below(i == 16 ? 10 : 31)];
    for (int i = 0; i < 17; i++)
        sum += w[i] * (unsigned)(strchr(alpha, out[i]) - alpha);
    check = (31 - sum % 31) % 31;
    out[17] = alpha[check];
    out[18] = '\0';
}

static void id_number(char *out)
{
    static const unsigned w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0;
    snprintf(out, 19, "321323%04u%02u%02u%03u", 1950 + rnd_below(50), 1 + rnd_below(12),
             1 + rnd_below(28), rnd_below(1000));
    for (int i = 0; i < 17; i++)
        sum += w[i] * (unsigned)(out[i] - '0');
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

/* A value for field f of kind k, by the field's type and, where the value
 * must name something, by its name. 0, or -1: leave the field out. */
static int draw_value(day *d, const char *k, const patrol_field_info *f, const char *subject_type,
                      char *v, size_t len)
{
    const char *t = f->type;
    v[0] = '\0';
    if (f->choices) {
        unsigned n = 0;
        while (f->choices[n])
            n++;
        /* The first choice is the common case (accept, written, completed ...). */
        snprintf(v, len, "%s", chance(80) ? f->choices[0] : f->choices[rnd_below(n)]);
        return 0;
    }
    if (strcmp(t, "yes") == 0) {
        snprintf(v, len, "yes");
    } else if (strcmp(t, "yes/no") == 0) {
        snprintf(v, len, "%s", chance(25) ? "yes" : "no");
    } else if (strcmp(t, "YYYY-MM-DD") == 0) {
        if (len < 11)
            return -1;
        bu_beijing_date(3 + (int)rnd_below(28), v);
    } else if (strcmp(t, "count") == 0) {
        snprintf(v, len, "%u", 1 + rnd_below(30));
    } else if (strcmp(t, "credit code") == 0) {
        if (len < 19)
            return -1;
        credit_code(v);
    } else if (strcmp(t, "id number") == 0) {
        if (len < 19)
            return -1;
        id_number(v);
    } else if (strcmp(t, "codes separated by commas") == 0) {
        const pool *pl = strstr(f->name, "subject") ? &d->subjects : &d->departments;
        snprintf(v, len, "%s", pool_pick(pl));
        for (unsigned i = 1 + rnd_below(2); i > 0; i--) {
            const char *x = pool_pick(pl);
            if (!strstr(v, x))
                cat(v, len, ",%s", x);
        }
    } else if (strcmp(t, "code") == 0) {
        if (strcmp(f->name, "domain") == 0)
            snprintf(v, len, "%s", pool_pick(&d->domains));
        else if (strcmp(f->name, "subject") == 0)
            snprintf(v, len, "%s", d->subject[0] ? d->subject : pool_pick(&d->subjects));
        else if (strcmp(f->name, "list_item") == 0)
            snprintf(v, len, "%s", pool_pick(&d->list_items));
        else if (strcmp(f->name, "department") == 0)
            snprintf(v, len, "%s", pool_pick(&d->departments));
        else if (strcmp(f->name, "code") == 0)
            snprintf(v, len, "%s", pool_pick(&d->leaflets));
        else if (strcmp(f->name, "field") == 0)
            return -1; /* set with the corrected entry's fields (correction) */
        else
            snprintf(v, len, "32%09u", rnd_below(1000000000u));
    } else if (strcmp(t, "text") == 0) {
        if (strstr(f->name, "participants")) {
            char a[32], b[32], c[32];
            person(a, sizeof a);
            person(b, sizeof b);
            person(c, sizeof c);
            snprintf(v, len, "%s（负责人）；%s、%s（执法人员）", a, b, c);
        } else if (strcmp(f->name, "departments") == 0) {
            snprintf(v, len, "泗阳县城市管理局；泗阳县市场监督管理局");
        } else if (strcmp(f->name, "audience") == 0) {
            snprintf(v, len, "%s%s沿街%s", PICK(towns), PICK(streets), PICK(shop_types));
        } else if (strcmp(f->name, "redactions") == 0) {
            snprintf(v, len, "当事人身份证号码、联系电话（个人隐私）");
        } else if (strcmp(f->name, "rules") == 0) {
            snprintf(v, len, "%s。", PICK(rules_text));
        } else {
            paragraph(v, len);
        }
    } else if (strcmp(t, "line") == 0) {
        char a[32];
        person(a, sizeof a);
        if (strcmp(f->name, "name") == 0 && strcmp(k, "subject.add") == 0 &&
            subject_type && strcmp(subject_type, "person") == 0)
            snprintf(v, len, "%s", a);
        else if (strcmp(f->name, "name") == 0 && strcmp(k, "subject.add") == 0)
            snprintf(v, len, "泗阳县%s%s%s", PICK(towns), PICK(shop_names), PICK(shop_types));
        else if (strcmp(f->name, "name") == 0)
            snprintf(v, len, "%s", a);
        else if (strcmp(f->name, "address") == 0)
            snprintf(v, len, "泗阳县%s%s%u号", PICK(towns), PICK(streets), 1 + rnd_below(300));
        else if (strcmp(f->name, "contact") == 0)
            snprintf(v, len, "%s 139%08u", a, rnd_below(100000000u));
        else if (strcmp(f->name, "legal_rep") == 0 || strcmp(f->name, "recipient") == 0)
            snprintf(v, len, "%s（店主）", a);
        else if (strcmp(f->name, "witness") == 0)
            snprintf(v, len, "%s（%s社区网格员）", a, PICK(towns));
        else if (strcmp(f->name, "expert") == 0)
            snprintf(v, len, "%s（宿迁市建筑设计研究院高级工程师）", a);
        else if (strcmp(f->name, "personnel") == 0)
            snprintf(v, len, "%s、%s", a, PICK(surnames));
        else if (strcmp(f->name, "channel") == 0)
            snprintf(v, len, "%s", PICK(channels));
        else if (strcmp(f->name, "doc_no") == 0)
            snprintf(v, len, "泗城管柔〔%.4s〕%u号", d->today, 1 + rnd_below(300));
        else if (strcmp(f->name, "caption") == 0)
            snprintf(v, len, "%s", PICK(captions));
        else if (strcmp(f->name, "time") == 0)
            snprintf(v, len, "%s 至 %s前", d->today, d->today);
        else if (strcmp(f->name, "note") == 0)
            snprintf(v, len, "巡查%s城区，执法车苏N·%05u", PICK(towns), rnd_below(100000));
        else if (strcmp(f->name, "decision") == 0)
            snprintf(v, len, "%s现场检查发现的问题", d->today);
        else if (strcmp(f->name, "title") == 0)
            snprintf(v, len, "%s告知书", PICK(topics));
        else
            snprintf(v, len, "%s", PICK(topics));
    } else {
        return -1; /* sha256, hex, bytes: files and keys, not drawn */
    }
    return 0;
}

typedef struct draw {
    patrol_field f[MAX_FIELDS];
    char v[MAX_FIELDS][VAL_LEN];
    size_t n;
} draw;

/* Draw the fields of kind k: choices first (the subject's type decides
 * its name), then the rest; required fields always, others at random. A
 * correction gets a field of the corrected entry's kind and a value. */
static void draw_fields(day *d, const char *k, const char *corrected_kind, draw *dr)
{
    patrol_field_info fi;
    const char *stype = NULL;
    dr->n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; patrol_kind_field(k, i, &fi) == PATROL_OK; i++) {
            if ((fi.choices != NULL) != (pass == 0) || fi.automatic || dr->n == MAX_FIELDS)
                continue;
            /* Optional fields: a choice (an answer, a form) mostly given,
             * the rest about half the time. */
            if (!fi.required && !chance(fi.choices ? 80 : 45))
                continue;
            if (strcmp(fi.name, "field") == 0 && corrected_kind) {
                patrol_field_info cf;
                size_t nf = 0;
                while (patrol_kind_field(corrected_kind, nf, &cf) == PATROL_OK)
                    nf++;
                if (nf == 0 || patrol_kind_field(corrected_kind, rnd_below((unsigned)nf), &cf) != 0)
                    continue;
                snprintf(dr->v[dr->n], VAL_LEN, "%s", cf.name);
            } else if (draw_value(d, k, &fi, stype, dr->v[dr->n], VAL_LEN) != 0) {
                continue;
            }
            if (strcmp(fi.name, "type") == 0)
                stype = dr->v[dr->n];
            dr->f[dr->n] = (patrol_field){fi.name, dr->v[dr->n], PATROL_CONF_NONE};
            dr->n++;
        }
    }
}

static void walk(day *d)
{
    /* A few hundred metres between stops, around 泗阳县城. */
    d->loc.lat_e7 += (int64_t)rnd_below(60001) - 30000;
    d->loc.lon_e7 += (int64_t)rnd_below(60001) - 30000;
    d->loc.accuracy_m = 3 + rnd_below(20);
}

/* The matter's state now (patrol_matters), into out. */
typedef struct state_q {
    const char *id;
    char state[32];
} state_q;
static int on_matter(void *ud, const patrol_matter_view *m)
{
    state_q *q = ud;
    if (strcmp(m->id, q->id) == 0) {
        snprintf(q->state, sizeof q->state, "%s", m->state);
        return 1;
    }
    return 0;
}

/* Record one entry of kind k (target, corrects as patrol_record_in),
 * drawing its fields until the rules take them (at most TRIES). 1 if
 * recorded, 0 if no draw was taken, -1 on a failure that is not about the
 * entry (the store, the disk). */
static int record(day *d, kind *k, const char *target, uint64_t corrects,
                  const char *corrected_kind, patrol_saved *out)
{
    const char *insp[2];
    draw dr;
    int rc = PATROL_OK;

    for (int t = 0; t < TRIES; t++) {
        patrol_record_in in;
        insp[0] = d->inspectors.v[rnd_below(d->inspectors.n)];
        insp[1] = d->inspectors.v[rnd_below(d->inspectors.n)];
        draw_fields(d, k->name, corrected_kind, &dr);
        memset(&in, 0, sizeof in);
        in.kind = k->name;
        in.target = target;
        in.inspectors = strcmp(k->target, "inspector") == 0 || d->inspectors.n == 0 ? NULL : insp;
        in.n_inspectors = in.inspectors ? (insp[0] == insp[1] ? 1 : 2) : 0;
        in.fields = dr.f;
        in.n_fields = dr.n;
        in.location = &d->loc;
        in.corrects = corrects;
        rc = patrol_record_check(d->p, &in);
        if (rc == PATROL_OK) {
            if ((rc = patrol_record(d->p, &in, out)) != PATROL_OK) {
                fprintf(stderr, "shaped_day: %s: %s\n", k->name, patrol_errmsg(d->p));
                return -1;
            }
            k->count++;
            d->entries = out->seq;
            return 1;
        }
        if (rc != PATROL_EINVAL && rc != PATROL_ESTATE && rc != PATROL_EREFUSED &&
            rc != PATROL_ENOTFOUND && rc != PATROL_EEXIST) {
            fprintf(stderr, "shaped_day: %s: %s\n", k->name, patrol_errmsg(d->p));
            return -1;
        }
    }
    if (d->verbose)
        fprintf(stderr, "shaped_day: %s not taken now: %s\n", k->name, patrol_errmsg(d->p));
    return 0;
}

static void remember(day *d, const char *kindname, const patrol_saved *s)
{
    if (d->nmade < N(d->made)) {
        made *m = &d->made[d->nmade++];
        m->seq = s->seq;
        m->kind = kindname;
        snprintf(m->id, sizeof m->id, "%s", s->id);
    }
}

/* One step in the open matter: the first kind, least recorded first, that
 * the state allows and whose draw the rules take. 1, 0 (none), -1. */
static int matter_step(day *d)
{
    unsigned order[MAX_KINDS], n = 0;
    state_q q = {d->matter, ""};
    patrol_saved s;

    if (patrol_matters(d->p, on_matter, &q) < 0)
        return -1;
    for (unsigned i = 0; i < d->nkinds; i++) {
        kind *k = &d->kinds[i];
        if (strcmp(k->name, "matter.open") == 0 || strcmp(k->name, "matter.close") == 0 ||
            strcmp(k->name, "evidence.add") == 0)
            continue;
        if (strcmp(k->target, "matter") != 0 && strcmp(k->target, "revisit") != 0 &&
            strcmp(k->target, "document") != 0 && strcmp(k->target, "entry") != 0)
            continue;
        if (k->matter_row && q.state[0] && patrol_matter_allows(q.state, k->name))
            continue;
        order[n++] = i;
    }
    /* A matter whose subject did not accept (refused, asked to stop) has
     * little more to record: seven times in ten, nothing. */
    {
        int methods = 0;
        for (unsigned i = 0; i < n; i++)
            methods |= d->kinds[order[i]].after_consent;
        if (!methods && chance(70))
            return 0;
    }
    /* The order of the tries, from the state table: a kind not recorded
     * yet today, now and then (three steps in ten); else at random, the kinds
     * allowed only once the subject accepted (the methods, documents,
     * revisits ...) and those acting on what the matter made (a revisit's
     * outcome, a document's delivery) four times as likely as the rest
     * (applications, hearings, expert opinions, corrections). */
    {
        double score[MAX_KINDS];
        for (unsigned i = 0; i < n; i++) {
            const kind *k = &d->kinds[order[i]];
            double r = (double)(rnd() >> 11) / 9007199254740992.0;
            score[i] = k->count == 0 && chance(30)                    ? 50 + r
                       : k->after_consent || strcmp(k->target, "revisit") == 0 ||
                               strcmp(k->target, "document") == 0 ? 4 * r
                                                                  : r;
        }
        for (unsigned i = 1; i < n; i++)
            for (unsigned j = i; j > 0 && score[j] > score[j - 1]; j--) {
                double ts = score[j];
                unsigned t = order[j];
                score[j] = score[j - 1];
                order[j] = order[j - 1];
                score[j - 1] = ts;
                order[j - 1] = t;
            }
    }
    for (unsigned i = 0; i < n; i++) {
        kind *k = &d->kinds[order[i]];
        int r = 0;
        walk(d);
        if (strcmp(k->target, "matter") == 0) {
            r = record(d, k, d->matter, 0, NULL, &s);
        } else if (strcmp(k->target, "entry") == 0) {
            /* A correction of an earlier entry of this matter. */
            if (d->nmade == 0)
                continue;
            made *m = &d->made[rnd_below(d->nmade)];
            r = record(d, k, d->matter, m->seq, m->kind, &s);
        } else {
            /* A revisit's outcome, a document's delivery: what this matter
             * made, the newest first. */
            for (unsigned j = d->nmade; j-- > 0 && r == 0;)
                if (strcmp(d->made[j].id, d->matter) != 0 && d->made[j].id[0])
                    r = record(d, k, d->made[j].id, 0, NULL, &s);
        }
        if (r < 0)
            return -1;
        if (r > 0) {
            remember(d, k->name, &s);
            return 1;
        }
    }
    return 0;
}

/* ---- media ------------------------------------------------------------ */

typedef struct media {
    char path[MAX_MEDIA][4200];
    unsigned n;
} media;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Files of dir whose names start with prefix, sorted. */
static int list_media(const char *dir, const char *prefix, media *m)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    m->n = 0;
    if (!dh) {
        fprintf(stderr, "shaped_day: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(dh)) && m->n < MAX_MEDIA)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            snprintf(m->path[m->n++], sizeof m->path[0], "%s/%s", dir, e->d_name);
    closedir(dh);
    qsort(m->path, m->n, sizeof m->path[0], cmp_str);
    return 0;
}

/* ---- main ------------------------------------------------------------- */

static int parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
    char *end = NULL;
    unsigned long v = 0;
    errno = 0;
    if (s && *s && *s != '-')
        v = strtoul(s, &end, 10);
    if (!end || errno || *end || v > max) {
        fprintf(stderr, "shaped_day: %s takes a whole number up to %u, not '%s'\n", opt, max,
                s ? s : "");
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: shaped_day --store DIR --media DIR [--seed N] [--matters N]\n"
                    "                  [--entries N] [--photos N] [--audio N] [--verbose]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *store = NULL, *media_dir = NULL;
    unsigned seed = 11, matters = 40, entries = 300, photos = 60, audio = 10;
    static day d;
    static media ph, au;
    unsigned *ev_matter = NULL, nev, closed = 0, opened = 0, steps_missed = 0;
    uint64_t ev_bytes = 0;
    char err[512];
    patrol_saved s;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--verbose") == 0) {
            d.verbose = 1;
            continue;
        }
        if (!v)
            return usage();
        if (strcmp(a, "--store") == 0)
            store = v;
        else if (strcmp(a, "--media") == 0)
            media_dir = v;
        else if (strcmp(a, "--seed") == 0)
            bad = parse_uint(a, v, 0xffffffffu, &seed);
        else if (strcmp(a, "--matters") == 0)
            bad = parse_uint(a, v, 1000, &matters);
        else if (strcmp(a, "--entries") == 0)
            bad = parse_uint(a, v, 100000, &entries);
        else if (strcmp(a, "--photos") == 0)
            bad = parse_uint(a, v, MAX_MEDIA, &photos);
        else if (strcmp(a, "--audio") == 0)
            bad = parse_uint(a, v, MAX_MEDIA, &audio);
        else
            return usage();
        if (bad)
            return 2;
        i++;
    }
    if (!store || !media_dir || matters == 0)
        return usage();
    rng_state ^= (uint64_t)seed * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 8; i++)
        (void)rnd();

    {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/photos", media_dir);
        if (list_media(dir, "photo-", &ph) != 0)
            return 1;
        snprintf(dir, sizeof dir, "%s/audio", media_dir);
        if (list_media(dir, "audio-", &au) != 0)
            return 1;
    }
    if (ph.n < photos || au.n < audio) {
        fprintf(stderr, "shaped_day: %s has %u photos and %u clips; %u and %u wanted\n",
                media_dir, ph.n, au.n, photos, audio);
        return 1;
    }
    if (patrol_open(store, &d.p, err, sizeof err) != PATROL_OK) {
        fprintf(stderr, "shaped_day: %s\n", err);
        return 1;
    }
    /* The kinds, as the library's rules table has them. */
    for (size_t i = 0; patrol_kind_name(i) && d.nkinds < MAX_KINDS; i++) {
        kind *k = &d.kinds[d.nkinds++];
        k->name = patrol_kind_name(i);
        k->target = patrol_kind_target(k->name);
        for (size_t r = 0; patrol_matter_row(r); r++)
            if (strcmp(patrol_matter_row(r), k->name) == 0)
                k->matter_row = 1;
        if (k->matter_row) {
            int before = patrol_matter_allows("opened", k->name) == NULL;
            int after = patrol_matter_allows("accepted", k->name) == NULL;
            k->after_consent = after && !before;
        }
        if (d.verbose)
            fprintf(stderr, "shaped_day: kind %s, target %s%s\n", k->name, k->target,
                    k->after_consent ? ", after acceptance" : "");
    }
    if (patrol_domains(d.p, on_domain, &d.domains) < 0 ||
        patrol_departments(d.p, on_department, &d.departments) < 0 ||
        patrol_leaflets(d.p, on_leaflet, &d.leaflets) < 0 ||
        patrol_list_items(d.p, on_list_item, &d.list_items) < 0) {
        fprintf(stderr, "shaped_day: reference data: %s\n", patrol_errmsg(d.p));
        goto exit;
    }
    {
        /* Today in Beijing (UTC+8), as the rules check dates. */
        bu_beijing_date(0, d.today);
    }
    d.loc = (patrol_location){337213000, 1186942000, 8};
    {
        patrol_sync_info si;
        if (patrol_sync_status(d.p, &si) == PATROL_OK)
            d.entries = si.head_seq;
    }

    /* The station: three inspectors, then the shift starts. */
    {
        kind *k = find_kind(&d, "inspector.add");
        for (unsigned i = 0; k && i < 3; i++) {
            char id[PATROL_ID_MAX];
            snprintf(id, sizeof id, "insp%02u", i + 1);
            if (record(&d, k, id, 0, NULL, &s) < 0)
                goto exit;
            pool_add(&d.inspectors, id);
        }
    }
    if (d.inspectors.n == 0) {
        fprintf(stderr, "shaped_day: no inspector could be recorded\n");
        goto exit;
    }
    if (find_kind(&d, "shift.start") && record(&d, find_kind(&d, "shift.start"), NULL, 0, NULL, &s) < 0)
        goto exit;

    /* Evidence: each file goes to a matter drawn at random. */
    nev = photos + audio;
    if (nev && !(ev_matter = calloc(nev, sizeof *ev_matter)))
        goto exit;
    for (unsigned i = 0; i < nev; i++)
        ev_matter[i] = rnd_below(matters);

    for (unsigned m = 0; m < matters; m++) {
        kind *open = find_kind(&d, "matter.open"), *close = find_kind(&d, "matter.close");
        kind *subj = find_kind(&d, "subject.add"), *ev = find_kind(&d, "evidence.add");
        unsigned left = matters - m, steps;
        int64_t budget;

        /* A new subject for three matters in four; else one seen today. */
        d.subject[0] = '\0';
        d.nmade = 0;
        walk(&d);
        if (subj && (d.subjects.n == 0 || chance(75))) {
            int r = record(&d, subj, NULL, 0, NULL, &s);
            if (r < 0)
                goto exit;
            if (r > 0)
                pool_add(&d.subjects, s.id);
        }
        if (d.subjects.n == 0) {
            fprintf(stderr, "shaped_day: no subject could be recorded\n");
            goto exit;
        }
        snprintf(d.subject, sizeof d.subject, "%s", d.subjects.v[d.subjects.n - 1]);
        if (!open || record(&d, open, NULL, 0, NULL, &s) <= 0) {
            fprintf(stderr, "shaped_day: matter %u could not be opened: %s\n", m + 1,
                    patrol_errmsg(d.p));
            goto exit;
        }
        opened++;
        snprintf(d.matter, sizeof d.matter, "%s", s.id);
        remember(&d, "matter.open", &s);
        /* The subject is told it may choose, and answers (the rules refuse
         * every method before: consent_first). */
        if (find_kind(&d, "consent")) {
            int r = record(&d, find_kind(&d, "consent"), d.matter, 0, NULL, &s);
            if (r < 0)
                goto exit;
            if (r > 0)
                remember(&d, "consent", &s);
        }
        /* What is left of the day's entries, shared by the matters left:
         * evidence counts, one entry stays for the close and the end of the
         * shift. */
        budget = (int64_t)entries - (int64_t)d.entries - 2;
        for (unsigned i = 0; i < nev; i++)
            budget -= ev_matter[i] >= m;
        budget -= (int64_t)left; /* closes */
        steps = budget > 0 ? (unsigned)(budget / left) : 0;
        if (budget > 0 && rnd_below(left) < (unsigned)(budget % left))
            steps++;
        /* Steps and evidence interleaved: evidence after a step at random. */
        for (unsigned st = 0, e = 0; st < steps || e < nev; ) {
            int do_ev = 0;
            while (e < nev && ev_matter[e] != m)
                e++;
            if (e < nev && (st >= steps || chance(40)))
                do_ev = 1;
            if (do_ev) {
                int is_photo = e < photos;
                const char *path = is_photo ? ph.path[e] : au.path[e - photos];
                char cap[128];
                struct stat sb;
                snprintf(cap, sizeof cap, "%s%s", is_photo ? "" : "录音：", PICK(captions));
                walk(&d);
                if (patrol_evidence_add(d.p, d.matter, is_photo ? "photo" : "audio", path,
                                        is_photo ? "image/jpeg" : "audio/wav", cap, &d.loc,
                                        &s) != PATROL_OK) {
                    fprintf(stderr, "shaped_day: evidence %s: %s\n", path, patrol_errmsg(d.p));
                    goto exit;
                }
                if (ev)
                    ev->count++;
                d.entries = s.seq;
                if (stat(path, &sb) == 0)
                    ev_bytes += (uint64_t)sb.st_size;
                e++;
                continue;
            }
            if (st >= steps)
                break;
            st++;
            {
                int r = matter_step(&d);
                if (r < 0)
                    goto exit;
                steps_missed += r == 0;
            }
        }
        /* Three matters in five are closed today; the rest wait (a
         * revisit, a deadline). */
        if (close && chance(60)) {
            int r;
            walk(&d);
            r = record(&d, close, d.matter, 0, NULL, &s);
            if (r < 0)
                goto exit;
            closed += r > 0;
        }
        /* The department's own acts, once a third and two thirds in. */
        if (m == matters / 3 || m == 2 * matters / 3)
            for (unsigned i = 0; i < d.nkinds; i++)
                if (strcmp(d.kinds[i].target, "act") == 0 &&
                    record(&d, &d.kinds[i], NULL, 0, NULL, &s) < 0)
                    goto exit;
    }
    if (find_kind(&d, "shift.end") && record(&d, find_kind(&d, "shift.end"), NULL, 0, NULL, &s) < 0)
        goto exit;

    printf("{\"entries\":%llu,\"matters\":%u,\"closed\":%u,\"evidence_files\":%u,"
           "\"evidence_bytes\":%llu,\"steps_not_taken\":%u,\"seed\":%u,\"kinds\":{",
           (unsigned long long)d.entries, opened, closed, nev, (unsigned long long)ev_bytes,
           steps_missed, seed);
    for (unsigned i = 0, first = 1; i < d.nkinds; i++) {
        if (!d.kinds[i].count)
            continue;
        printf("%s\"%s\":%u", first ? "" : ",", d.kinds[i].name, d.kinds[i].count);
        first = 0;
    }
    printf("}}\n");
    for (unsigned i = 0; i < d.nkinds; i++)
        if (!d.kinds[i].count && strcmp(d.kinds[i].target, "device") != 0)
            fprintf(stderr, "shaped_day: no %s recorded today\n", d.kinds[i].name);
    rc = 0;
exit:
    free(ev_matter);
    patrol_close(d.p);
    return rc;
}
