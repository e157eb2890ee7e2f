#!/usr/bin/env python3
"""gen_month.py -- a month of flexible-enforcement records for test_report.sh,
and the report's figures counted independently of patrold.

  gen_month.py record PATROL SHIM WORK MONTH T1 T2 T3
      Records on three enrolled terminals (T1, T2: SY-CGJ; T3: SY-SCJGJ)
      through the real patrol tool, each command at a chosen Beijing time of
      MONTH (YYYY-MM) by moving the tool's wall clock (SHIM, an LD_PRELOAD
      library reading E2E_CLOCK_OFFSET_S). Every kind, every outcome; see
      SCENARIO below. Prints nothing on success; a failing command stops it
      with exit status 1 and the command's stderr.

  gen_month.py init PATROL SHIM WORK MONTH T1 T2 T3
      Creates the three stores on the 1st of the month before MONTH.

  gen_month.py compare EXPECTED REPORT_JSON [FILE.csv] [FILE.xlsx]
      Every figure of the report against EXPECTED (the output of expect),
      and every cell of the CSV and XLSX against the report's JSON.

  gen_month.py expect PERIOD TODAY ENTRIES_TSV REFERENCE DIR=DEPT...
      The report's figures for PERIOD (YYYY-MM or YYYY), as JSON on stdout:
      {"scopes": {DEPT or "county": {table: {row: n}}}}, counted from each
      terminal's `patrol log --json` (in DIR/log.json) with the corrections
      applied here, the list types from REFERENCE, and the sync delays from
      ENTRIES_TSV (device-id-hex, seq, wall_ms, received_ms: the server's
      stored entries). TODAY (YYYY-MM-DD, Beijing) is the day revisits are
      overdue from. docs/report.md says how each figure is counted.
"""
import datetime
import json
import os
import subprocess
import sys
import time

BJ = datetime.timezone(datetime.timedelta(hours=8))

# ---- recording ------------------------------------------------------------

CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(n):
    """A valid unified social credit code (GB 32100) numbered n."""
    body = "913213230000%05dX" % n
    body = body[:17]
    s = sum(CS.index(c) * W[i] for i, c in enumerate(body))
    c = 31 - s % 31
    return body + CS[0 if c == 31 else c]


class Rec:
    def __init__(self, patrol, shim, work, month):
        self.patrol, self.shim, self.work = patrol, shim, work
        self.y, self.m = int(month[:4]), int(month[5:7])
        self.cursor = None
        self.ncode = 0

    def at(self, day, hh=9, mm=0, month_delta=0):
        y, m = self.y, self.m + month_delta
        while m < 1:
            y, m = y - 1, m + 12
        while m > 12:
            y, m = y + 1, m - 12
        if day < 0:  # last day of that month (-1)
            nm = datetime.date(y + (m == 12), m % 12 + 1, 1)
            day = (nm - datetime.timedelta(days=1)).day
        self.cursor = datetime.datetime(y, m, day, hh, mm, tzinfo=BJ).timestamp()

    def day(self, day, month_delta=0):
        """YYYY-MM-DD of a day of the month."""
        y, m = self.y, self.m + month_delta
        while m > 12:
            y, m = y + 1, m - 12
        return "%04d-%02d-%02d" % (y, m, day)

    def run(self, store, *args, shift=True):
        env = dict(os.environ)
        if shift:
            env["E2E_CLOCK_OFFSET_S"] = str(int(self.cursor - time.time()))
            env["LD_PRELOAD"] = self.shim
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
            self.cursor += 60  # a minute later: each terminal's clock runs forward
        p = subprocess.run([self.patrol, "--store", store] + [str(a) for a in args],
                           env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write("patrol %s: exit %d: %s\n" % (" ".join(map(str, args)),
                                                         p.returncode, p.stderr.strip()))
            sys.exit(1)
        return p.stdout.strip()

    def subject(self, t, name):
        self.ncode += 1
        return self.run(t, "subject", "add", "--credit-code", credit_code(self.ncode),
                        "--name", name)

    def open(self, t, insp, domain, summary, item=None, on_app=False, name="某某商户"):
        s = self.subject(t, name)
        a = ["matter", "open", "--subject", s, "--inspector", insp, "--domain", domain,
             "--summary", summary]
        if item:
            a += ["--list-item", item]
        if on_app:
            a += ["--on-application"]
        return self.run(t, *a)

    def evidence(self, t, m, kind, size, media):
        path = os.path.join(self.work, "ev-%d-%s" % (size, kind))
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        self.run(t, "evidence", "add", "--matter", m, "--kind", kind, "--media-type", media, path)


def init(patrol, shim, work, month, t1, t2, t3):
    """The three stores, created on the 1st of the month before."""
    r = Rec(patrol, shim, work, month)
    r.at(1, 8, 0, month_delta=-1)
    for t, dept, name in ((t1, "SY-CGJ", "城管终端-01"), (t2, "SY-CGJ", "城管终端-02"),
                          (t3, "SY-SCJGJ", "市监终端-01")):
        r.run(t, "init", "--department", dept, "--device-name", name)


def record(patrol, shim, work, month, t1, t2, t3):
    r = Rec(patrol, shim, work, month)
    CG, SJ = "urban_management", "market_regulation"
    d = r.day

    # The terminals' inspectors, before anything else (the month before).
    r.at(-1, 8, 0, month_delta=-1)
    for t, who in ((t1, ("zhangwei", "张伟", "32132300100")), (t2, ("liuna", "刘娜", "32132300117")),
                   (t3, ("wangfang", "王芳", "32132300201"))):
        r.run(t, "inspector", "add", "--id", who[0], "--name", who[1], "--cert-no", who[2])

    # T2, the month before: opened, accepted, guided at 23:50 on its last
    # day (not this month's); completed on the 1st at 08:00 (this month's).
    r.at(-1, 23, 50, month_delta=-1)
    m13 = r.open(t2, "liuna", CG, "占道经营（跨月）", name="跨月商户")
    r.run(t2, "consent", "--matter", m13, "--accept")
    r.run(t2, "act", "guidance", "--matter", m13, "--topic", "门前三包", "--content", "讲解门前三包")

    r.at(1, 8, 0)
    r.run(t2, "matter", "close", "--matter", m13, "--completed")

    # T1 M1: no-penalty item, warning, document delivered 3 days later,
    # photo, leaflets, revisit after an inspection done on time, completed.
    r.at(2, 9, 0)
    m1 = r.open(t1, "zhangwei", CG, "店外摆卖", item="CG-NP-003", name="某某便利店")
    r.run(t1, "consent", "--matter", m1, "--accept", "--form", "written")
    r.run(t1, "act", "warning", "--matter", m1, "--minor", "--no-harm", "--no-intent",
          "--correctable", "--content", "告诫", "--correction", "将商品移回店内",
          "--deadline", d(10))
    d1 = r.run(t1, "document", "issue", "--matter", m1, "--purpose", "督促整改", "--content",
               "限期整改", "--time", "十日内", "--personnel", "张伟")
    r.evidence(t1, m1, "photo", 2048, "image/jpeg")
    r.run(t1, "leaflet", "--matter", m1, "--title", "门前三包责任告知书", "--code", "LF-001",
          "--copies", 20)
    rv1 = r.run(t1, "act", "revisit", "--matter", m1, "--follows", "inspection", "--decision",
                "现场检查", "--due", d(9), "--content", "回访整改情况")
    r.at(5, 10, 0)
    r.run(t1, "document", "deliver", "--document", d1, "--method", "in_person", "--recipient",
          "店主")
    r.at(8, 15, 0)
    r.run(t1, "revisit", "done", "--revisit", rv1, "--outcome", "corrected", "--opinion", "无意见",
          "--legality", "lawful_regular")
    r.run(t1, "matter", "close", "--matter", m1, "--completed")

    # T1 M2: lighter item; the subject refuses; terminated.
    r.at(3, 9, 0)
    m2 = r.open(t1, "zhangwei", CG, "违规设置广告牌", item="CG-LT-001", name="某某广告店")
    r.run(t1, "consent", "--matter", m2, "--refuse")
    r.run(t1, "matter", "close", "--matter", m2, "--terminated", "--reason", "subject_refused")

    # T1 M3: opened on application, reduced item; the application is
    # withdrawn; terminated.
    r.at(4, 9, 0)
    m3 = r.open(t1, "zhangwei", CG, "申请柔性执法", item="CG-RD-001", on_app=True, name="某某饭店")
    r.run(t1, "consent", "--matter", m3, "--accept")
    r.at(6, 11, 0)
    r.run(t1, "application", "withdraw", "--matter", m3, "--reason", "自行整改完毕")
    r.run(t1, "matter", "close", "--matter", m3, "--terminated", "--reason", "subject_withdrew")

    # T1 M4: an application filed and changed; guidance, suggestion; the
    # subject asks to stop; terminated.
    r.at(5, 14, 0)
    m4 = r.open(t1, "zhangwei", CG, "门店招牌整治", name="某某超市")
    r.run(t1, "application", "file", "--matter", m4, "--content", "申请行政辅导")
    r.run(t1, "consent", "--matter", m4, "--accept")
    r.run(t1, "act", "guidance", "--matter", m4, "--topic", "招牌设置", "--content", "辅导招牌设置")
    r.run(t1, "act", "suggestion", "--matter", m4, "--content", "建议统一招牌样式")
    r.at(7, 9, 0)
    r.run(t1, "application", "change", "--matter", m4, "--content", "申请行政辅导及建议")
    r.at(9, 16, 0)
    r.run(t1, "consent", "--matter", m4, "--stop")
    r.run(t1, "matter", "close", "--matter", m4, "--terminated", "--reason", "subject_asked_stop")

    # T1 M5: reminder, interview, audio; a revisit after a penalty left
    # without outcome (overdue); a document delivered 14 days later.
    r.at(6, 9, 0)
    m5 = r.open(t1, "zhangwei", CG, "多次投诉噪音", item="CG-NP-001", name="某某KTV")
    r.run(t1, "consent", "--matter", m5, "--accept")
    r.run(t1, "act", "reminder", "--matter", m5, "--form", "written", "--rules", "噪声管理规定",
          "--content", "提示夜间噪声", "--source", "complaints")
    r.run(t1, "act", "interview", "--matter", m5, "--mode", "individual", "--participants", "负责人",
          "--departments", "SY-CGJ", "--minutes", "约谈纪要", "--content", "约谈噪声问题")
    r.evidence(t1, m5, "audio", 4096, "audio/mpeg")
    d5 = r.run(t1, "document", "issue", "--matter", m5, "--purpose", "整改噪声", "--content",
               "限期整改噪声", "--time", "十五日内", "--personnel", "张伟")
    r.run(t1, "act", "revisit", "--matter", m5, "--follows", "penalty", "--decision",
          "处罚决定书", "--due", d(12), "--content", "回访处罚后整改")
    r.at(20, 10, 0)
    r.run(t1, "document", "deliver", "--document", d5, "--method", "post", "--recipient", "负责人")

    # T1 M6: publicity; a revisit done late finding it not corrected;
    # escalated to ordinary case procedure.
    r.at(7, 9, 0)
    m6 = r.open(t1, "zhangwei", CG, "违规堆放", item="CG-NP-002", name="某某建材店")
    r.run(t1, "consent", "--matter", m6, "--accept")
    r.run(t1, "act", "publicity", "--matter", m6, "--channel", "县城管局网站", "--content",
          "公示整改要求", "--redactions", "none")
    rv6 = r.run(t1, "act", "revisit", "--matter", m6, "--follows", "inspection", "--decision",
                "现场检查", "--due", d(10), "--content", "回访")
    r.at(14, 10, 0)
    r.run(t1, "revisit", "done", "--revisit", rv6, "--outcome", "not_corrected", "--opinion",
          "暂无能力整改", "--legality", "lawful_regular")
    r.run(t1, "matter", "close", "--matter", m6, "--escalated", "--case-no", "泗城管立〔2026〕1号")

    # T1 M7, M8, M9: terminated for the other reasons.
    r.at(8, 9, 0)
    for reason, extra in (("basis_changed", []), ("harms_others", []),
                          ("other", ["--reason-text", "当事人已迁离"])):
        m = r.open(t1, "zhangwei", CG, "终止事项 " + reason, name="终止商户" + reason)
        r.run(t1, "consent", "--matter", m, "--accept")
        r.run(t1, "matter", "close", "--matter", m, "--terminated", "--reason", reason, *extra)

    # T1 M10: a lighter item corrected to a no-penalty item; the leaflet
    # copies corrected from 50 to 30 (the effective counts differ from
    # the raw ones).
    r.at(10, 9, 0)
    m10 = r.open(t1, "zhangwei", CG, "占道堆物", item="CG-LT-002", name="某某五金店")
    log = json.loads(r.run(t1, "log", "--matter", m10, "--json", shift=False))
    open_seq = [e["seq"] for e in log if e["kind"] == "matter.open"][0]
    r.run(t1, "correct", "--entry", open_seq, "--field", "list_item", "--value", "CG-NP-004",
          "--reason", "援引条目有误", "--inspector", "zhangwei")
    r.run(t1, "consent", "--matter", m10, "--accept")
    r.run(t1, "leaflet", "--matter", m10, "--title", "文明施工管理告知书", "--code", "LF-003",
          "--copies", 50)
    log = json.loads(r.run(t1, "log", "--matter", m10, "--json", shift=False))
    leaf_seq = [e["seq"] for e in log if e["kind"] == "leaflet"][0]
    r.run(t1, "correct", "--entry", leaf_seq, "--field", "copies", "--value", "30",
          "--reason", "份数记错", "--inspector", "zhangwei")
    r.evidence(t1, m10, "document", 1500, "application/pdf")

    # T1: department-level acts.
    r.at(11, 9, 0)
    r.run(t1, "dept", "reminder", "--inspector", "zhangwei", "--domain", CG, "--audience",
          "沿街商户", "--form", "written", "--rules", "门前三包", "--content", "书面提示")
    r.at(12, 9, 0)
    r.run(t1, "dept", "publicity", "--inspector", "zhangwei", "--domain", CG, "--channel",
          "政务公开栏", "--content", "公示典型问题", "--redactions", "none")
    r.at(13, 9, 0)
    r.run(t1, "dept", "interview", "--inspector", "zhangwei", "--domain", CG, "--mode",
          "collective", "--departments", "SY-CGJ", "--participants", "五家商户负责人",
          "--minutes", "集中约谈纪要", "--content", "集中约谈")

    # T2 M12: a revisit with its outcome on the spot (partially corrected);
    # video evidence.
    r.at(15, 9, 0)
    m12 = r.open(t2, "liuna", CG, "油烟扰民", name="某某烧烤店")
    r.run(t2, "consent", "--matter", m12, "--accept", "--form", "oral")
    r.run(t2, "act", "revisit", "--matter", m12, "--follows", "inspection", "--decision",
          "现场检查", "--due", d(15), "--content", "当场回访", "--outcome", "partially_corrected",
          "--opinion", "正在整改", "--legality", "lawful_regular")
    r.evidence(t2, m12, "video", 8192, "video/mp4")
    r.run(t2, "leaflet", "--matter", m12, "--title", "门前三包责任告知书", "--code", "LF-001",
          "--copies", 5)

    # T2 M14: opened at 23:40 on the month's last day; a leaflet at 00:30
    # the next day (next month's).
    r.at(-1, 23, 40)
    m14 = r.open(t2, "liuna", CG, "月末事项", name="月末商户")
    r.run(t2, "consent", "--matter", m14, "--accept")
    r.at(1, 0, 30, month_delta=1)
    r.run(t2, "leaflet", "--matter", m14, "--title", "户外广告设置规范指引", "--code", "LF-002",
          "--copies", 7)

    # T3 (market regulation) M20: guidance, leaflets, video and electronic
    # data, a document delivered the next day; completed.
    r.at(3, 10, 0)
    m20 = r.open(t3, "wangfang", SJ, "价签不规范", item="SJ-NP-001", name="某某药店")
    r.run(t3, "consent", "--matter", m20, "--accept")
    r.run(t3, "act", "guidance", "--matter", m20, "--topic", "明码标价", "--content",
          "辅导明码标价")
    r.run(t3, "leaflet", "--matter", m20, "--title", "明码标价规范示范文本", "--code", "LF-004",
          "--copies", 5)
    r.evidence(t3, m20, "video", 10000, "video/mp4")
    r.evidence(t3, m20, "electronic_data", 700, "application/json")
    d20 = r.run(t3, "document", "issue", "--matter", m20, "--purpose", "规范价签", "--content",
                "按规定标价", "--time", "三日内", "--personnel", "王芳")
    r.at(4, 10, 0)
    r.run(t3, "document", "deliver", "--document", d20, "--method", "electronic",
          "--recipient", "店长")
    r.run(t3, "matter", "close", "--matter", m20, "--completed")

    # T3 M21: told of the right to choose (no answer), then accepts;
    # suggestion; a joint interview of two departments.
    r.at(16, 10, 0)
    m21 = r.open(t3, "wangfang", SJ, "商品质量投诉", name="某某服装店")
    r.run(t3, "consent", "--matter", m21)
    r.run(t3, "consent", "--matter", m21, "--accept")
    r.run(t3, "act", "suggestion", "--matter", m21, "--content", "建议完善进货查验")
    r.at(17, 10, 0)
    r.run(t3, "dept", "interview", "--inspector", "wangfang", "--domain", SJ, "--mode", "joint",
          "--departments", "SY-SCJGJ,SY-CGJ", "--participants", "两部门及商户",
          "--minutes", "联合约谈纪要", "--content", "联合约谈")


# ---- counting --------------------------------------------------------------

def bj_day(ms):
    return (ms + 8 * 3600 * 1000) // 86400000


def day_of(s):
    return (datetime.date.fromisoformat(s) - datetime.date(1970, 1, 1)).days


def rank(values, p):
    if not values:
        return 0
    v = sorted(values)
    k = (len(v) * p + 99) // 100
    return v[max(k, 1) - 1]


def expect(period, today, entries_tsv, reference, dirs):
    if len(period) == 7:
        y, m = int(period[:4]), int(period[5:])
        d0 = day_of("%04d-%02d-01" % (y, m))
        d1 = day_of("%04d-%02d-01" % (y + (m == 12), m % 12 + 1))
    else:
        d0, d1 = day_of(period + "-01-01"), day_of("%d-01-01" % (int(period) + 1))
    today = day_of(today)
    ref = json.load(open(reference))
    list_type = {i["code"]: l["type"] for l in ref["lists"] for i in l["items"]}
    out = {}

    def add(dept, table, row, n=1):
        for s in (dept, "county"):
            t = out.setdefault(s, {}).setdefault(table, {})
            t[row] = t.get(row, 0) + n

    def inp(ms):
        return d0 <= bj_day(ms) < d1

    devdept = {}
    for dirdept in dirs:
        path, dept = dirdept.split("=")
        dev = subprocess.run(["sqlite3", "-batch", os.path.join(path, "patrol.db"),
                              "SELECT lower(hex(device_id)) FROM device"],
                             capture_output=True, text=True, check=True).stdout.strip()
        devdept[dev] = dept
        log = json.load(open(os.path.join(path, "log.json")))
        dev8 = dev[:8]
        corr = {}
        for e in log:
            if e["kind"] == "correction" and "field" in e["fields"]:
                corr.setdefault(e["corrects"], []).append((e["fields"]["field"],
                                                           e["fields"].get("value")))

        def eff(e, name):
            v = e["fields"].get(name)
            for f, val in corr.get(e["seq"], []):
                if f == name:
                    v = val
            return v

        byid = {}
        matters = {}
        for e in log:
            if e["kind"] == "document.issue":
                byid["D-%s-%d" % (dev8, e["seq"])] = e
            if e["kind"] == "action.revisit":
                byid["R-%s-%d" % (dev8, e["seq"])] = e
            if e.get("matter"):
                matters.setdefault(e["matter"], []).append(e)
        for e in log:
            k, w = e["kind"], e["wall_ms"]
            if k.startswith("dept.") and inp(w):
                add(dept, "dept_acts", k[5:])
            if not inp(w):
                continue
            if k.startswith("action."):
                add(dept, "methods", k[7:])
            elif k == "leaflet":
                code = eff(e, "code") or "-"
                c = int(eff(e, "copies"))
                add(dept, "leaflets", "handouts")
                add(dept, "leaflets", "copies", c)
                add(dept, "leaflet_handouts", code)
                add(dept, "leaflet_copies", code, c)
            elif k == "consent":
                add(dept, "consent", "told")
                a = eff(e, "answer")
                if a:
                    add(dept, "consent", {"accept": "accepted", "refuse": "refused",
                                          "stop": "stop"}[a])
            elif k.startswith("application."):
                add(dept, "applications", {"file": "filed", "change": "changed",
                                           "withdraw": "withdrawn"}[k[12:]])
            elif k == "evidence.add":
                kind = eff(e, "kind")
                add(dept, "evidence_count", kind)
                add(dept, "evidence_bytes", kind, int(e["fields"]["size"]))
            elif k == "matter.open":
                add(dept, "matters", "opened")
                if eff(e, "on_application") == "yes" or any(
                        x["kind"] == "application.file" for x in matters.get(e["object"], [])):
                    add(dept, "matters", "on_application")
                add(dept, "domains", eff(e, "domain"))
                item = eff(e, "list_item")
                if item:
                    add(dept, "lists", list_type[item])
                    add(dept, "list_items", item)
            elif k == "document.issue":
                add(dept, "documents", "issued")
            elif k == "document.deliver":
                add(dept, "documents", "delivered")
                out[dept].setdefault("_delays", []).append(
                    bj_day(w) - bj_day(byid[e["object"]]["wall_ms"]))
                out["county"].setdefault("_delays", []).append(
                    bj_day(w) - bj_day(byid[e["object"]]["wall_ms"]))
        for mid, es in matters.items():
            closes = [e for e in es if e["kind"] == "matter.close"]
            if closes and inp(closes[0]["wall_ms"]):
                o = eff(closes[0], "outcome")
                if o == "terminated":
                    add(dept, "matters", "terminated")
                    add(dept, "terminated_by_reason", eff(closes[0], "reason"))
                else:
                    add(dept, "matters", o)
        for rid, e in byid.items():
            if not rid.startswith("R-"):
                continue
            due = day_of(eff(e, "due"))
            outcome, ow = eff(e, "outcome"), e["wall_ms"]
            for o in log:
                if o["kind"] == "revisit.outcome" and o["object"] == rid:
                    outcome, ow = eff(o, "outcome"), o["wall_ms"]
            if d0 <= due < d1:
                add(dept, "revisits", "due")
                if outcome:
                    add(dept, "revisits", "on_time" if bj_day(ow) <= due else "late")
                else:
                    add(dept, "revisits", "overdue" if due < today else "pending")
            if outcome and inp(ow):
                add(dept, "revisits", outcome)
    # sync delay: the server's receive time of each entry
    syncs = {}
    for line in open(entries_tsv):
        dev, seq, wall, recv = line.split("|")
        if dev.lower() not in devdept or not inp(int(wall)):
            continue
        d = int(recv) - int(wall)
        for s in (devdept[dev.lower()], "county"):
            syncs.setdefault(s, []).append(d // 1000)
    for s, t in out.items():
        t.pop("_delay", None)
        dl = t.pop("_delays", [])
        t.setdefault("documents", {})
        t["documents"]["delay_median_days"] = rank(dl, 50)
        t["documents"]["delay_max_days"] = rank(dl, 100)
    for s, v in syncs.items():
        out.setdefault(s, {})["sync_delay"] = {"entries": len(v), "median_s": rank(v, 50),
                                               "p90_s": rank(v, 90), "max_s": rank(v, 100)}
    json.dump({"scopes": out}, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)


# ---- comparing -------------------------------------------------------------

def compare(expected, report, fmt_files):
    """Every figure of the report (JSON) against the independent count, and
    every cell of the CSV and XLSX against the JSON. Prints the problems
    (at most 20) and the number of figures compared; exit 1 on any."""
    exp = json.load(open(expected))["scopes"]
    rep = json.load(open(report))
    bad, n = [], 0
    for unit, tables in rep["scopes"].items():
        for t, rows in tables.items():
            if t.startswith("annual_"):
                continue
            for row, v in rows.items():
                want = exp.get(unit, {}).get(t, {}).get(row, 0)
                n += 1
                if v != want:
                    bad.append("%s %s.%s: report %s, counted %s" % (unit, t, row, v, want))
    for unit, tables in exp.items():
        for t, rows in tables.items():
            for row, want in rows.items():
                if want and rep["scopes"].get(unit, {}).get(t, {}).get(row) is None:
                    bad.append("%s %s.%s: counted %s, not in the report" % (unit, t, row, want))
    # the cells of the CSV and XLSX
    units = [u["code"] for u in rep["units"]]

    def cell_check(where, key, grid):
        nonlocal n
        t = key
        transposed = t.startswith("annual_")
        head = grid[0]
        if transposed:
            keys = list(rep["scopes"][units[0]][t].keys())
            for i, u in enumerate(units):
                row = grid[1 + i]
                if not str(row[0]).endswith("(%s)" % u):
                    bad.append("%s %s: row %d is %r, not unit %s" % (where, t, i, row[0], u))
                    continue
                for c, k in enumerate(keys):
                    v = rep["scopes"][u][t][k]
                    got = row[1 + c]
                    n += 1
                    if (v is None and got != "—") or (v is not None and float(got) != v):
                        bad.append("%s %s %s.%s: %r, JSON %r" % (where, u, t, k, got, v))
            return
        for c, u in enumerate(units):
            if not str(head[2 + c]).endswith("(%s)" % u):
                bad.append("%s %s: column %d is %r, not unit %s" % (where, t, c, head[2 + c], u))
                return
        for row in grid[1:]:
            k = row[1]
            for c, u in enumerate(units):
                v = rep["scopes"][u][t].get(k)
                n += 1
                if v is None or float(row[2 + c]) != v:
                    bad.append("%s %s %s.%s: %r, JSON %r" % (where, u, t, k, row[2 + c], v))
        if len(grid) - 1 != len(rep["scopes"][units[0]][t]):
            bad.append("%s %s: %d rows, JSON %d" % (where, t, len(grid) - 1,
                                                     len(rep["scopes"][units[0]][t])))

    seen = {"csv": set(), "xlsx": set()}
    for f in fmt_files:
        if f.endswith(".csv"):
            import csv
            rows = list(csv.reader(open(f, newline="", encoding="utf-8")))
            i = 2
            while i < len(rows):
                if len(rows[i]) == 2 and rows[i][1] in rep["scopes"][units[0]]:
                    key, j = rows[i][1], i + 1
                    while j < len(rows) and rows[j]:
                        j += 1
                    cell_check("csv", key, rows[i + 1:j])
                    seen["csv"].add(key)
                    i = j
                i += 1
        else:
            import openpyxl
            wb = openpyxl.load_workbook(f, read_only=True)
            for ws in wb.worksheets:
                rows = [list(r) for r in ws.iter_rows(values_only=True)]
                key = rows[1][1]
                nrows = len(units) if key.startswith("annual_") else \
                    len(rep["scopes"][units[0]][key])
                grid = [["" if c is None else c for c in r] for r in rows[2:3 + nrows]]
                cell_check("xlsx " + ws.title, key, grid)
                seen["xlsx"].add(key)
    for kind in ("csv", "xlsx"):
        if any(f.endswith("." + kind) for f in fmt_files):
            tabs = set(rep["scopes"][units[0]].keys())
            if seen[kind] != tabs:
                bad.append("%s: tables %s, JSON %s" % (kind, sorted(seen[kind]), sorted(tabs)))
    for b in bad[:20]:
        print("MISMATCH " + b)
    print("compared %d figures, %d mismatches" % (n, len(bad)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if len(sys.argv) >= 9 and sys.argv[1] == "init":
        init(*sys.argv[2:9])
    elif len(sys.argv) >= 9 and sys.argv[1] == "record":
        record(*sys.argv[2:9])
    elif len(sys.argv) >= 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 6 and sys.argv[1] == "expect":
        expect(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
