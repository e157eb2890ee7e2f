/* audit_report_tables.c -- the tables of `audit report` (audit_report.h):
 * each table's key, Chinese title and rows (key, Chinese label, and for
 * the year report where the 年度行政执法统计年报 puts it), in the order
 * they are numbered and printed (docs/report.md describes each). */
#include "audit_report.h"

#include <stdio.h>
#include <string.h>

static const rpt_rowdef r_matters[] = {
    {"opened", "启动柔性执法事项", NULL, NULL},
    {"on_application", "其中：依当事人申请", NULL, NULL},
    {"completed", "办结", NULL, NULL},
    {"terminated", "终止", NULL, NULL},
    {"escalated", "转一般程序（移交立案查处）", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_reasons[] = {
    {"subject_refused", "当事人拒绝", NULL, NULL},
    {"subject_withdrew", "当事人撤回申请", NULL, NULL},
    {"subject_asked_stop", "当事人要求终止", NULL, NULL},
    {"basis_changed", "法律政策依据变化", NULL, NULL},
    {"harms_others", "继续实施损害他人利益", NULL, NULL},
    {"other", "其他原因", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_methods[] = {
    {"guidance", "行政辅导", NULL, NULL},     {"suggestion", "行政建议", NULL, NULL},
    {"reminder", "行政提示", NULL, NULL},     {"warning", "行政告诫", NULL, NULL},
    {"interview", "行政约谈", NULL, NULL},    {"publicity", "行政公示", NULL, NULL},
    {"revisit", "行政回访", NULL, NULL},      {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_lists[] = {
    {"no_penalty", "不予处罚清单", NULL, NULL},
    {"lighter", "从轻处罚清单", NULL, NULL},
    {"reduced", "减轻处罚清单", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_leaflets[] = {
    {"handouts", "发放次数", NULL, NULL},
    {"copies", "发放份数", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_documents[] = {
    {"issued", "制发柔性执法意见书", NULL, NULL},
    {"delivered", "送达", NULL, NULL},
    {"delay_median_days", "送达用时中位数（天）", NULL, NULL},
    {"delay_max_days", "送达用时最长（天）", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_consent[] = {
    {"told", "告知选择权", NULL, NULL},
    {"accepted", "同意柔性执法", NULL, NULL},
    {"refused", "拒绝", NULL, NULL},
    {"stop", "要求停止", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_applications[] = {
    {"filed", "提出申请", NULL, NULL},
    {"changed", "变更申请", NULL, NULL},
    {"withdrawn", "撤回申请", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_revisits[] = {
    {"due", "本期应回访", NULL, NULL},
    {"on_time", "按期完成", NULL, NULL},
    {"late", "逾期完成", NULL, NULL},
    {"overdue", "逾期未回访", NULL, NULL},
    {"pending", "未到期", NULL, NULL},
    {"corrected", "回访结果：已整改", NULL, NULL},
    {"partially_corrected", "回访结果：部分整改", NULL, NULL},
    {"not_corrected", "回访结果：未整改", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_acts[] = {
    {"interview", "集中约谈、联合约谈", NULL, NULL},
    {"reminder", "行业提示", NULL, NULL},
    {"publicity", "部门公示", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_evidence[] = {
    {"photo", "照片", NULL, NULL},         {"audio", "录音", NULL, NULL},
    {"video", "录像", NULL, NULL},         {"document", "书面材料", NULL, NULL},
    {"electronic_data", "电子数据", NULL, NULL}, {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_sync[] = {
    {"entries", "条目数", NULL, NULL},
    {"median_s", "中位数（秒）", NULL, NULL},
    {"p90_s", "第90百分位（秒）", NULL, NULL},
    {"max_s", "最大（秒）", NULL, NULL},
    {NULL, NULL, NULL, NULL}};
/* 年度行政执法统计年报: its acts, with the counts this record holds where
 * they belong. Flexible matters are never penalty cases. */
static const rpt_rowdef r_annual_acts[] = {
    {"licensing", "行政许可（件）", "-", NULL},
    {"penalty_cases", "行政处罚（件）", "-", NULL},
    {"no_penalty", "其中：不予处罚", "lists", "no_penalty"},
    {"reduced", "减轻处罚", "lists", "reduced"},
    {"lighter", "从轻处罚", "lists", "lighter"},
    {"coercion", "行政强制（件）", "-", NULL},
    {"inspection", "行政检查（次）", "-", NULL},
    {"levy", "行政征收（件）", "-", NULL},
    {"payment", "行政给付（件）", "-", NULL},
    {"confirmation", "行政确认（件）", "-", NULL},
    {"reward", "行政奖励（件）", "-", NULL},
    {"adjudication", "行政裁决（件）", "-", NULL},
    {"other_flexible", "其他行政执法行为：柔性执法事项（件）", "matters", "opened"},
    {"escalated_to_case", "柔性执法转一般程序（件）", "matters", "escalated"},
    {NULL, NULL, NULL, NULL}};
static const rpt_rowdef r_annual_flexible[] = {
    {"guidance", "行政辅导", "methods", "guidance"},
    {"suggestion", "行政建议", "methods", "suggestion"},
    {"reminder", "行政提示", "methods", "reminder"},
    {"warning", "行政告诫", "methods", "warning"},
    {"interview", "行政约谈", "methods", "interview"},
    {"publicity", "行政公示", "methods", "publicity"},
    {"revisit", "行政回访", "methods", "revisit"},
    {"opinions_issued", "意见书制发", "documents", "issued"},
    {"opinions_delivered", "意见书送达", "documents", "delivered"},
    {"consent_accepted", "同意", "consent", "accepted"},
    {"consent_refused", "拒绝", "consent", "refused"},
    {"consent_stop", "要求停止", "consent", "stop"},
    {"revisits_due", "应回访", "revisits", "due"},
    {"revisits_on_time", "按期回访", "revisits", "on_time"},
    {"revisits_overdue", "逾期未回访", "revisits", "overdue"},
    {NULL, NULL, NULL, NULL}};

const rpt_tabdef rpt_tables[] = {
    {"annual_acts", "行政执法情况统计年报表（柔性执法部分）", "年报表", 0, 1, 1, r_annual_acts},
    {"annual_flexible", "柔性执法情况统计表（补充表）", "柔性执法补充表", 0, 1, 1,
     r_annual_flexible},
    {"matters", "柔性执法事项", "事项", 0, 0, 0, r_matters},
    {"terminated_by_reason", "终止原因", "终止原因", 0, 0, 0, r_reasons},
    {"methods", "柔性执法方式", "执法方式", 0, 0, 0, r_methods},
    {"domains", "启动事项（按执法领域）", "执法领域", 1, 0, 0, NULL},
    {"lists", "援引三张清单的事项", "三张清单", 0, 0, 0, r_lists},
    {"list_items", "援引清单事项（按条目）", "清单条目", 1, 0, 0, NULL},
    {"leaflets", "宣传资料、示范文本发放", "宣传资料", 0, 0, 0, r_leaflets},
    {"leaflet_handouts", "宣传资料发放次数（按目录编码）", "资料发放次数", 1, 0, 0, NULL},
    {"leaflet_copies", "宣传资料发放份数（按目录编码）", "资料发放份数", 1, 0, 0, NULL},
    {"documents", "柔性执法意见书", "意见书", 0, 0, 0, r_documents},
    {"consent", "当事人选择", "当事人选择", 0, 0, 0, r_consent},
    {"applications", "当事人申请", "申请", 0, 0, 0, r_applications},
    {"revisits", "行政回访", "回访", 0, 0, 0, r_revisits},
    {"dept_acts", "部门层面活动", "部门活动", 0, 0, 0, r_acts},
    {"evidence_count", "证据（件数，按种类）", "证据件数", 0, 0, 0, r_evidence},
    {"evidence_bytes", "证据（字节，按种类）", "证据字节", 0, 0, 0, r_evidence},
    {"sync_delay", "同步延迟（接收时间减设备时间）", "同步延迟", 0, 0, 0, r_sync},
    {"rule_flags", "规则标记（按规则）", "规则标记", 1, 0, 0, NULL},
    {NULL, NULL, NULL, 0, 0, 0, NULL}};

static const rpt_tabdef *table_find(const char *key)
{
    for (size_t i = 0; rpt_tables[i].key; i++)
        if (strcmp(rpt_tables[i].key, key) == 0)
            return &rpt_tables[i];
    return NULL;
}

/* The number of a table as printed: the year report starts with the two
 * annual tables, a month's with table 1 "matters". */
int rpt_table_number(const rpt_tabdef *t, int month)
{
    return (int)(t - rpt_tables) + 1 - (month ? 2 : 0);
}

void rpt_figure_label(const char *table, const char *row, char *out, size_t len)
{
    const rpt_tabdef *t = table_find(table);
    const char *zh = row;
    if (!t) {
        snprintf(out, len, "%s / %s", table, row);
        return;
    }
    for (size_t i = 0; t->rows && t->rows[i].key; i++)
        if (strcmp(t->rows[i].key, row) == 0)
            zh = t->rows[i].zh;
    snprintf(out, len, "%s / %s (%s.%s)", t->zh, zh, table, row);
}
