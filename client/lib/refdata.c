/* refdata.c -- the reference data a new store starts with: the domains
 * (with the excluded ones) and a default three-list set, until the server
 * pushes the department's real lists. The items follow the shape of the
 * published county and city lists (shared/domain/reference-sample.json,
 * version 2026.11-sample.1); they are defaults, not an official list. */
#include "internal.h"

#include <stddef.h>

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

#define BUILTIN_VERSION "builtin-2026-01"

static const struct {
    const char *type, *code, *domain, *name, *basis;
} items[] = {
    {"no_penalty", "CG-NP-001", "urban_management", "擅自在桥梁或者路灯设施上设置广告牌或者其他挂浮物",
     "《城市道路管理条例》第二十七条、第四十二条"},
    {"no_penalty", "CG-NP-002", "urban_management", "排水户名称、法定代表人等事项变更未及时申请办理变更",
     "《城镇污水排入排水管网许可管理办法》第二十八条"},
    {"no_penalty", "CG-NP-003", "urban_management", "临街商户超出门窗外墙摆卖、占道经营，首次被发现",
     "城市市容和环境卫生管理地方性法规"},
    {"no_penalty", "CG-NP-004", "urban_management", "施工工地未按要求设置施工铭牌，首次被发现",
     "建设工程文明施工管理规定"},
    {"no_penalty", "SJ-NP-001", "market_regulation", "未将营业执照置于住所或者主要经营场所醒目位置",
     "《市场主体登记管理条例》"},
    {"no_penalty", "SJ-NP-002", "market_regulation", "经营者未按规定明码标价，首次被发现",
     "《明码标价和禁止价格欺诈规定》"},
    {"lighter", "CG-LT-001", "urban_management", "施工工地未设置围挡，主动消除或者减轻危害后果",
     "建设工程文明施工管理规定"},
    {"lighter", "CG-LT-002", "urban_management", "擅自设置户外广告，配合查处违法行为有立功表现",
     "《城市市容和环境卫生管理条例》"},
    {"reduced", "CG-RD-001", "urban_management", "运输车辆污染城市道路，主动改正且危害后果轻微",
     "城市市容和环境卫生管理地方性法规"},
};

int px_refdata_seed(patrol *p)
{
    int err;
    for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++) {
        /* The excluded set is the law's, not data: never let a list make
         * an excluded domain flexible. */
        int flexible = domains[i].flexible && !px_domain_excluded(domains[i].code);
        if ((err = px_run(p, "INSERT INTO domains(code, name, flexible) VALUES (?, ?, ?)", "tti",
                          domains[i].code, domains[i].name, (int64_t)flexible)))
            return err;
    }
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        if ((err = px_run(p, "INSERT INTO list_items(code, list_type, list_version, domain, name,"
                             " basis) VALUES (?, ?, ?, ?, ?, ?)",
                          "tttttt", items[i].code, items[i].type, BUILTIN_VERSION,
                          items[i].domain, items[i].name, items[i].basis)))
            return err;
    return PATROL_OK;
}
