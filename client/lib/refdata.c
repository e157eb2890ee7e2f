/* refdata.c -- the reference data a store holds before the server sends
 * any: the domains (with the excluded ones), the departments and the
 * domains each holds, a default three-list set with each list's name and
 * issuer and each item's category and conditions, and the leaflet
 * catalogue. One built-in set, copied from the sample reference data
 * (tests/data/reference-sample.json, version 2026.11-sample.1; shaped like
 * the published county and city lists, not an official list). A new store
 * gets it at creation (px_refdata_seed); a store of schema 1 or 2 that
 * never received the server's data gets the parts schema 3 added when it
 * is migrated (px_refdata_upgrade). */
#include "internal.h"

#include <stddef.h>
#include <string.h>

#include "rules.h"

static const struct {
    const char *code, *name;
    int flexible;
} domains[] = {
    {"urban_management", "城市管理", 1},
    {"market_regulation", "市场监管（一般事项）", 1},
    {"culture_tourism", "文化旅游", 1},
    {"transport", "交通运输（非安全事项）", 1},
    {"agriculture", "农业农村", 1},
    {"national_security", "国家安全", 0},
    {"public_safety", "公共安全", 0},
    {"food_drug_safety", "食品药品安全", 0},
    {"production_safety", "安全生产", 0},
    {"ecology_environment", "生态环境", 0},
    {"pollution_control", "污染防治", 0},
    {"health_life_property", "人身健康和生命财产安全", 0},
};

/* The built-in lists' version: a matter citing a built-in item says so. */
#define BUILTIN_VERSION "builtin-2026-01"

static const struct {
    const char *code, *name;
    const char *domains[4]; /* NULL-terminated */
} departments[] = {
    {"SY-CGJ", "泗阳县城市管理局", {"urban_management", NULL}},
    {"SY-SCJGJ", "泗阳县市场监督管理局", {"market_regulation", "food_drug_safety", NULL}},
    {"SY-WLJ", "泗阳县文化广电和旅游局", {"culture_tourism", NULL}},
    {"SY-JTJ", "泗阳县交通运输局", {"transport", NULL}},
};

static const struct {
    const char *type, *name, *issuer;
} lists[] = {
    {"no_penalty", "城市管理领域轻微违法行为不予行政处罚清单（示例）",
     "宿迁市城市管理局（示例）"},
    {"no_penalty", "市场监管领域轻微违法行为不予行政处罚清单（示例）",
     "宿迁市市场监督管理局（示例）"},
    {"lighter", "城市管理领域从轻行政处罚清单（示例）",
     "宿迁市城市管理局（示例）"},
    {"reduced", "城市管理领域减轻行政处罚清单（示例）",
     "宿迁市城市管理局（示例）"},
};

/* conditions: one per line */
static const struct {
    int list; /* index in lists */
    const char *code, *domain, *name, *basis, *category, *conditions;
} items[] = {
    {0, "CG-NP-001", "urban_management",
     "擅自在桥梁或者路灯设施上设置广告牌或者其他挂浮物",
     "《城市道路管理条例》第二十七条、第四十二条", "first_violation",
     "初次违法\n及时改正\n危害后果轻微\n积极配合检查调查"},
    {0, "CG-NP-002", "urban_management",
     "排水户名称、法定代表人等事项变更未及时申请办理变更",
     "《城镇污水排入排水管网许可管理办法》第二十八条", "minor",
     "违法行为轻微（资料完备，逾期不超过3个月）\n及时改正\n没有造成危害后果\n积极配合检查调查"},
    {0, "CG-NP-003", "urban_management",
     "临街商户超出门窗外墙摆卖、占道经营，首次被发现",
     "城市市容和环境卫生管理地方性法规（示例）", "first_violation",
     "初次违法\n当场改正\n没有造成危害后果"},
    {0, "CG-NP-004", "urban_management",
     "施工工地未按要求设置施工铭牌，首次被发现",
     "建设工程文明施工管理规定（示例）", "first_violation",
     "初次违法\n责令限期改正后及时改正"},
    {1, "SJ-NP-001", "market_regulation",
     "未将营业执照置于住所或者主要经营场所醒目位置",
     "《市场主体登记管理条例》（示例）", "first_violation",
     "初次违法\n及时改正\n危害后果轻微"},
    {1, "SJ-NP-002", "market_regulation",
     "经营者未按规定明码标价，首次被发现",
     "《明码标价和禁止价格欺诈规定》（示例）", "first_violation",
     "初次违法\n及时改正\n未损害消费者合法权益"},
    {2, "CG-LT-001", "urban_management",
     "施工工地未设置围挡，主动消除或者减轻危害后果",
     "建设工程文明施工管理规定（示例）", "lighter",
     "主动消除或者减轻违法行为危害后果"},
    {2, "CG-LT-002", "urban_management",
     "擅自设置户外广告，配合查处违法行为有立功表现",
     "《城市市容和环境卫生管理条例》（示例）", "lighter",
     "配合行政机关查处违法行为有立功表现"},
    {3, "CG-RD-001", "urban_management",
     "运输车辆污染城市道路，主动改正且危害后果轻微",
     "城市市容和环境卫生管理地方性法规（示例）", "reduced",
     "主动改正或者及时终止违法行为\n危害后果轻微"},
};

static const struct {
    const char *code, *title;
} leaflets[] = {
    {"LF-001", "门前三包责任告知书"},
    {"LF-002", "户外广告设置规范指引"},
    {"LF-003", "文明施工管理告知书"},
    {"LF-004", "明码标价规范示范文本"},
    {"LF-005", "柔性执法工作告知书（当事人自主选择权利告知）"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Departments and the domains each holds, and the leaflets (replacing
 * rows of the same code). */
static int put_departments_leaflets(patrol *p)
{
    int err;
    for (size_t i = 0; i < COUNT(departments); i++) {
        if ((err = px_run(p, "INSERT OR REPLACE INTO departments(code, name) VALUES (?, ?)", "tt",
                          departments[i].code, departments[i].name)))
            return err;
        for (size_t j = 0; departments[i].domains[j]; j++)
            if ((err = px_run(p, "INSERT OR REPLACE INTO department_domains(department, domain)"
                                 " VALUES (?, ?)",
                              "tt", departments[i].code, departments[i].domains[j])))
                return err;
    }
    for (size_t i = 0; i < COUNT(leaflets); i++)
        if ((err = px_run(p, "INSERT OR REPLACE INTO leaflets(code, title) VALUES (?, ?)", "tt",
                          leaflets[i].code, leaflets[i].title)))
            return err;
    return PATROL_OK;
}

int px_refdata_seed(patrol *p)
{
    int err;
    for (size_t i = 0; i < COUNT(domains); i++) {
        /* The excluded set is the law's, not data: never let a list make
         * an excluded domain flexible. */
        int flexible = domains[i].flexible && !px_domain_excluded(domains[i].code);
        if ((err = px_run(p, "INSERT INTO domains(code, name, flexible) VALUES (?, ?, ?)", "tti",
                          domains[i].code, domains[i].name, (int64_t)flexible)))
            return err;
    }
    for (size_t i = 0; i < COUNT(items); i++)
        if ((err = px_run(p, "INSERT INTO list_items(code, list_type, list_version, domain, name,"
                             " basis, list_name, issuer, category, conditions)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "tttttttttt", items[i].code, lists[items[i].list].type, BUILTIN_VERSION,
                          items[i].domain, items[i].name, items[i].basis, lists[items[i].list].name,
                          lists[items[i].list].issuer, items[i].category, items[i].conditions)))
            return err;
    return put_departments_leaflets(p);
}

int px_refdata_upgrade(patrol *p, int from_version)
{
    char buf[32];
    int err;

    /* A new database is seeded with the whole set when the store is
     * created; a store already at schema 3 has what it needs. */
    if (from_version <= 0 || from_version >= 3)
        return PATROL_OK;
    /* Data from the server stays until the next sync replaces it. */
    if ((err = px_get_text(p, buf, sizeof buf, "SELECT reference_version FROM sync_state", "")))
        return err == PATROL_ENOTFOUND ? PATROL_OK : err;
    if (strcmp(buf, "0") != 0)
        return PATROL_OK;
    if ((err = put_departments_leaflets(p)))
        return err;
    /* The built-in items this store holds get their list's name and
     * issuer, their category and conditions (and the basis as the sample
     * words it); an item the store does not hold is not added. */
    for (size_t i = 0; i < COUNT(items); i++)
        if ((err = px_run(p, "UPDATE list_items SET basis = ?, list_name = ?, issuer = ?,"
                             " category = ?, conditions = ? WHERE code = ? AND list_version = ?",
                          "ttttttt", items[i].basis, lists[items[i].list].name,
                          lists[items[i].list].issuer, items[i].category, items[i].conditions,
                          items[i].code, BUILTIN_VERSION)))
            return err;
    return PATROL_OK;
}
