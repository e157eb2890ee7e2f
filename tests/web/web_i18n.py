#!/usr/bin/env python3
"""web_i18n.py -- 监督平台's labels come from the catalogue (issue 10 item 4).

  web_i18n.py PATROLD LOCALEDIR

The console's pages are English msgids through gettext, shown in 简体中文
from po/zh_CN.po like patrold's other messages. The same server, started
twice on the same data: with PATROL_LOCALEDIR pointing at an empty
directory (no catalogue), every page and refusal reads in English and holds
no Chinese character; with the build's catalogue (LOCALEDIR), the same
pages read in Chinese. Before the labels went through gettext the pages
were Chinese whatever the catalogue. 总览's report tables keep the report's
own Chinese names (audit_report_tables.c, shared with the spreadsheet), so
only its frame and headings are checked there.
"""
import http.client
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

PATROLD, LOCALEDIR = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="web_i18n_")
DATA = os.path.join(TMP, "data")
EMPTY = os.path.join(TMP, "no-catalogue")
os.makedirs(EMPTY)
failures = []
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, stdin=None):
    return subprocess.run([PATROLD, "--data", DATA] + list(args), input=stdin,
                          capture_output=True, text=True, env=dict(os.environ, LANG="C"))


assert run("init").returncode == 0
assert run("user", "add", "--name", "admin", "--role", "admin", stdin="admin pass 1\n").returncode == 0
assert run("device", "add", "--name", "t-1", "--department", "SY-CGJ").returncode == 0

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def serve(localedir):
    log = open(os.path.join(TMP, "serve.log"), "w+")
    env = dict(os.environ, LANG="C", PATROL_LOCALEDIR=localedir)
    srv = subprocess.Popen([PATROLD, "--data", DATA, "serve", "--listen", "127.0.0.1:0",
                            "--web-listen", "127.0.0.1:0"], stdout=log, stderr=log, env=env)
    for _ in range(100):
        time.sleep(0.1)
        log.seek(0)
        m = re.search(r"event=web_listening addr=127\.0\.0\.1:(\d+)", log.read())
        if m:
            return srv, int(m.group(1))
    srv.kill()
    raise SystemExit("no web listener")


def req(port, method, path, form=None, cookies=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
    h = {}
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.headers, data


def pages(port):
    """Every page and a few refusals, as (what, status, body)."""
    out = []
    st, h, body = req(port, "GET", "/login")
    out.append(("login", st, body))
    tok = re.search(r"__Host-pw_l=([A-Za-z0-9_-]{43});", h.get("set-cookie") or "").group(1)
    st, h, body = req(port, "POST", "/login", {"csrf": tok, "name": "admin", "password": "nope"},
                      {"__Host-pw_l": tok})
    out.append(("wrong password", st, body))
    st, h, body = req(port, "POST", "/login", {"csrf": tok, "name": "admin",
                                                "password": "admin pass 1"}, {"__Host-pw_l": tok})
    sid = re.search(r"__Host-pw_s=([A-Za-z0-9_-]{43});", h.get("set-cookie") or "").group(1)
    s = {"__Host-pw_s": sid}
    for path in ["/matters", "/matters?sort=opened", "/followups", "/integrity", "/reports",
                 "/lists", "/devices", "/users", "/matters/M-nope-1", "/matters?sort=bad",
                 "/lists?version=9", "/nowhere", "/a/../b"]:
        st, h, body = req(port, "GET", path, cookies=s)
        out.append((path, st, body))
    st, h, body = req(port, "GET", "/", cookies=s)
    out.append(("dashboard", st, body))
    st, h, body = req(port, "POST", "/lists/import", {"csrf": "x" * 43}, s)
    out.append(("a POST without its token", st, body))
    return out


try:
    srv, port = serve(EMPTY)
    try:
        en = pages(port)
    finally:
        srv.terminate()
        srv.wait(15)
    srv, port = serve(LOCALEDIR)
    try:
        zh = pages(port)
    finally:
        srv.terminate()
        srv.wait(15)
    want_en = {"login": ["Log in", "Account name", "Password"],
               "wrong password": ["Wrong account name or password."],
               "/matters": ["Matters", "Filter", "Last activity", "Order"],
               "/followups": ["Revisits and documents", "Documents awaiting delivery"],
               "/integrity": ["Integrity", "Not checked since the server started."],
               "/reports": ["Monthly report", "Download"],
               "/lists": ["Reference lists", "Import a new version", "No reference data"],
               "/devices": ["Devices", "Add a device", "not enrolled"],
               "/users": ["Accounts", "Password set"],
               "/matters/M-nope-1": ["There is no such matter."],
               "/matters?sort=bad": ["The order is not valid"],
               "/lists?version=9": ["There is no such version of the reference data."],
               "/nowhere": ["There is no such page."],
               "/a/../b": ["The address is not valid"],
               "dashboard": ["Overview", "Problems to act on", "Log out"],
               "a POST without its token": ["The form&#39;s check failed"]}
    want_zh = {"login": ["登录", "账户名", "密码"], "wrong password": ["账户名或密码错误。"],
               "/matters": ["事项", "筛选", "最近活动", "排序"],
               "/followups": ["回访与文书", "待送达的文书"], "/integrity": ["本次启动以来尚未校验。"],
               "/reports": ["月报", "下载"], "/lists": ["导入新版本"],
               "/devices": ["添加终端", "待注册"], "/users": ["密码设置于"],
               "/matters/M-nope-1": ["没有这个事项。"], "/matters?sort=bad": ["排序方式不合法"],
               "/lists?version=9": ["没有这个版本的参考数据。"], "/nowhere": ["没有这个页面。"],
               "/a/../b": ["地址不合法"], "dashboard": ["总览", "待处理的问题", "退出"],
               "a POST without its token": ["表单校验失败"]}
    for (what, st, body), (_, st2, body2) in zip(en, zh):
        check(st == st2, "%s: the same status in both languages (%d, %d)" % (what, st, st2))
        text = re.sub(r"<[^>]+>", " ", body)
        missing = [w for w in want_en.get(what, []) if w not in body]
        check(not missing, "%s in English: %r missing" % (what, missing))
        if what != "dashboard":  # its report tables keep the report's Chinese names
            found = CJK.findall(text)
            check(not found, "%s without a catalogue: Chinese left %r" % (what, "".join(found)[:40]))
        missing = [w for w in want_zh.get(what, []) if w not in body2]
        check(not missing, "%s in Chinese: %r missing" % (what, missing))
finally:
    subprocess.run(["rm", "-rf", TMP])

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok: web_i18n")
