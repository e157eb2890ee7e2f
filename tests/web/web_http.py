#!/usr/bin/env python3
"""web_http.py -- 监督平台 at the HTTP level (issue 10; docs/console.md).

  web_http.py PATROLD

A real `patrold serve --web-listen` on loopback with four accounts (admin,
supervisor, two reviewers). Every refusal of the issue's "Bad input" list
that the console has so far: a wrong password and an unknown name (the
same answer), a missing or forged login token, no session, a forged
session, a POST without or with a wrong CSRF token, a supervisor calling
an admin action, path tricks (.., //, encoded bytes, NUL, backslash), an
oversized form, the per-account lock and the per-address throttle; each
answered with its status and a refusal page, nothing changed, the
security headers on every answer, and logins, failed logins and the admin
action as leaves of the server log. 清单: an admin imports a list file
from the browser (multipart upload) with lists import's checks, each
broken copy refused naming its place and nothing changed, other roles and
bad forms refused, older versions viewable. The dashboard's figures equal
`audit report --json`; disabling an account (console or CLI) and logging
out end its sessions.
"""
import http.client
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

PATROLD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="web_http_")
DATA = os.path.join(TMP, "data")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, stdin=None):
    return subprocess.run([PATROLD, "--data", DATA] + list(args), input=stdin,
                          capture_output=True, text=True, env=dict(os.environ, LANG="C"))


def run_bytes(*args):
    return subprocess.run([PATROLD, "--data", DATA] + list(args), capture_output=True,
                          env=dict(os.environ, LANG="C"))


assert run("init").returncode == 0
for name, role, dept, pw in [("admin", "admin", None, "admin pass 1"),
                             ("sup", "supervisor", None, "super pass 1"),
                             ("rev1", "reviewer", "SY-CGJ", "review pass 1"),
                             ("rev2", "reviewer", "SY-SCJGJ", "review pass 2")]:
    a = ["user", "add", "--name", name, "--role", role] + (["--department", dept] if dept else [])
    r = run(*a, stdin=pw + "\n")
    assert r.returncode == 0, r.stderr

# Departments are known once a device belongs to them (audit report).
for dept in ("SY-CGJ", "SY-SCJGJ"):
    assert run("device", "add", "--name", "t-" + dept, "--department", dept).returncode == 0

log = open(os.path.join(TMP, "serve.log"), "w+")
srv = subprocess.Popen([PATROLD, "--data", DATA, "serve", "--listen", "127.0.0.1:0",
                        "--web-listen", "127.0.0.1:0"], stdout=log, stderr=log)
port = None
for _ in range(100):
    time.sleep(0.1)
    log.seek(0)
    m = re.search(r"event=web_listening addr=127\.0\.0\.1:(\d+)", log.read())
    if m:
        port = int(m.group(1))
        break
assert port, "no web listener"

# The server certificate is the one patrold init made; the test trusts it
# by its file (the name in it is not 127.0.0.1).
ctx = ssl.create_default_context(cafile=os.path.join(DATA, "server.crt"))
ctx.check_hostname = False
try:
    ctx.verify_mode = ssl.CERT_REQUIRED
    socket.create_connection(("127.0.0.1", port)).close()
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port))) as s:
        pass
except ssl.SSLError:
    ctx.verify_mode = ssl.CERT_NONE  # a self-signed leaf without CA flags


def req(method, path, body=None, cookies=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    h = dict(headers or {})
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    if body is not None:
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.headers, data


def raw(line):
    """One request whose target is sent byte for byte."""
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
        s.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head


SEC = {
    "content-security-policy": "default-src 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=",
}


def secure(headers, what):
    for k, v in SEC.items():
        check(v in (headers.get(k) or ""), "%s: header %s" % (what, k))
    csp = headers.get("content-security-policy") or ""
    check("frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, what + ": CSP")


def leaves():
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "patrold.db"), uri=True)
    rows = [r[0] for r in db.execute("SELECT data FROM log_leaves ORDER BY idx")]
    db.close()
    return [bytes(r).decode() if isinstance(r, (bytes, memoryview)) else r for r in rows]


def accounts():
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "patrold.db"), uri=True)
    rows = list(db.execute("SELECT name, pwhash, disabled_ms FROM web_users ORDER BY id"))
    db.close()
    return rows


def login_form():
    st, h, body = req("GET", "/login")
    check(st == 200, "login page %d" % st)
    secure(h, "login page")
    m = re.search(r"__Host-pw_l=([A-Za-z0-9_-]{43});", h.get("set-cookie") or "")
    t = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', body)
    assert m and t and m.group(1) == t.group(1), (h, body)
    return m.group(1)


def login(name, pw, expect=303):
    tok = login_form()
    st, h, body = req("POST", "/login", {"csrf": tok, "name": name, "password": pw},
                      cookies={"__Host-pw_l": tok})
    check(st == expect, "login %s: %d, not %d" % (name, st, expect))
    secure(h, "login answer")
    if st != 303:
        return None, body
    sc = h.get("set-cookie") or ""
    check(all(a in sc for a in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/")),
          "session cookie attributes: " + sc)
    check(h.get("location") == "/", "login goes to /")
    sid = re.search(r"__Host-pw_s=([A-Za-z0-9_-]{43});", sc).group(1)
    st, h, body = req("GET", "/", cookies={"__Host-pw_s": sid})
    csrf = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', body).group(1)
    return {"__Host-pw_s": sid}, csrf


month_now = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
try:
    before = accounts()
    # ---- logins ----
    n0 = len(leaves())
    _, body = login("admin", "wrong password", 401)
    check("账户名或密码错误" in body, "wrong password page")
    _, body2 = login("nobody", "wrong password", 401)
    check("账户名或密码错误" in body2, "unknown name: the same page")
    lv = leaves()[n0:]
    check(len(lv) == 2 and lv[0].startswith("patrol-web-login-failed\nadmin\nwrong\n127.0.0.1\n")
          and lv[1].startswith("patrol-web-login-failed\nnobody\nwrong\n"),
          "failed logins are leaves: %r" % lv)
    # A login without the form's token, with another one, with none at all.
    tok = login_form()
    for cookies, form in [({}, tok), ({"__Host-pw_l": tok}, "A" * 43),
                          ({"__Host-pw_l": tok}, None)]:
        f = {"name": "admin", "password": "admin pass 1"}
        if form:
            f["csrf"] = form
        st, h, body = req("POST", "/login", f, cookies=cookies)
        check(st == 403 and "CSRF" in body, "login without its token: %d" % st)
        secure(h, "403")
    check(len(leaves()) == n0 + 2, "a refused login form is not a login attempt")

    adm, adm_csrf = login("admin", "admin pass 1")
    lv = leaves()
    check(lv[-1].startswith("patrol-web-login\nadmin\nadmin\n127.0.0.1\n"), "login leaf: %r" % lv[-1])
    sup, sup_csrf = login("sup", "super pass 1")
    rev1, rev1_csrf = login("rev1", "review pass 1")

    # ---- no session, forged session ----
    for cookies in [None, {"__Host-pw_s": "A" * 43}, {"__Host-pw_s": "../../etc"},
                    {"__Host-pw_s": adm["__Host-pw_s"][:-1] + "x"}]:
        st, h, body = req("GET", "/", cookies=cookies)
        check(st == 303 and h.get("location") == "/login", "GET / without a live session: %d" % st)
        secure(h, "303")
        st, h, body = req("POST", "/users/disable", {"csrf": adm_csrf, "name": "sup"},
                          cookies=cookies)
        check(st == 401, "POST without a live session: %d" % st)
    # ---- CSRF on a session's forms ----
    for form in [{"name": "rev2"}, {"name": "rev2", "csrf": "B" * 43},
                 {"name": "rev2", "csrf": sup_csrf}]:
        st, h, body = req("POST", "/users/disable", form, cookies=adm)
        check(st == 403 and "CSRF" in body, "admin POST without its token: %d" % st)
    # ---- roles ----
    st, h, body = req("GET", "/users", cookies=sup)
    check(st == 403 and "只有管理员" in body, "supervisor opens accounts: %d" % st)
    st, h, body = req("POST", "/users/disable", {"csrf": sup_csrf, "name": "rev2"}, cookies=sup)
    check(st == 403, "supervisor disables an account: %d" % st)
    st, h, body = req("POST", "/users/disable", {"csrf": rev1_csrf, "name": "rev2"}, cookies=rev1)
    check(st == 403, "reviewer disables an account: %d" % st)
    devs = run("device", "list", "--json").stdout
    for path, form in [("/devices/add", {"name": "x", "department": "SY-CGJ"}),
                       ("/devices/revoke", {"id": "1"})]:
        form["csrf"] = sup_csrf
        st, h, body = req("POST", path, form, cookies=sup)
        check(st == 403, "supervisor %s: %d" % (path, st))
    st, h, body = req("GET", "/devices", cookies=sup)
    check(st == 403, "supervisor opens devices: %d" % st)
    check(run("device", "list", "--json").stdout == devs, "refused device actions changed nothing")
    # The admin's: a bad name or department, a forged Host, then one that works.
    for form, hdr in [({"name": "", "department": "SY-CGJ"}, None),
                      ({"name": "t", "department": "../D01"}, None),
                      ({"name": "t", "department": "SY-CGJ"}, {"Host": "evil\"><script>"})]:
        form["csrf"] = adm_csrf
        st, h, body = req("POST", "/devices/add", form, cookies=adm, headers=hdr)
        check(st == 400 and "<script>" not in body, "device add %r: %d" % (form, st))
    check(run("device", "list", "--json").stdout == devs, "refused device adds changed nothing")
    st, h, body = req("POST", "/devices/add", {"csrf": adm_csrf, "name": "<b>t9</b>",
                                               "department": "SY-CGJ"}, cookies=adm)
    check(st == 200 and 'id="qr"' in body and "&lt;b&gt;t9" not in body, "device add: %d" % st)
    m = re.search(r'<pre id="qr-text">PTE1 https://127\.0\.0\.1:(\d+) (PT1\.[^<]+)</pre>', body)
    check(m is not None, "QR text on the page")
    st, h, body = req("GET", "/devices", cookies=adm)
    check("&lt;b&gt;t9&lt;/b&gt;" in body and "<b>t9" not in body, "device name escaped")
    n2 = len(leaves())
    new_id = max(d["id"] for d in json.loads(run("device", "list", "--json").stdout))
    st, h, body = req("POST", "/devices/revoke", {"csrf": adm_csrf, "id": str(new_id)}, cookies=adm)
    check(st == 303, "revoke: %d" % st)
    check(leaves()[n2:] == ["patrol-revoke\n%d\n" % new_id] or
          (leaves()[n2:] and leaves()[n2].startswith("patrol-revoke\n%d\n" % new_id)),
          "revocation leaf: %r" % leaves()[n2:])
    st, h, body = req("POST", "/devices/revoke", {"csrf": adm_csrf, "id": "99999"}, cookies=adm)
    check(st == 404, "revoke unknown: %d" % st)
    check(accounts() == before, "refused actions changed no account")
    st, h, body = req("GET", "/users", cookies=adm)
    check(st == 200 and "rev2" in body and "argon2" not in body, "admin sees the accounts")

    # ---- path tricks ----
    for target in [b"/../etc/passwd", b"/static/../console.css", b"/%2e%2e/x", b"/static%2fconsole.css",
                   b"//etc/passwd", b"/static/console.css%00", b"/a\\b", b"/users%00"]:
        st, head = raw(b"GET " + target + b" HTTP/1.1")
        check(st == 400, "path %r: %d" % (target, st))
        if st == 400:
            check("nosniff" in head and "frame-ancestors 'none'" in head, "400 headers %r" % target)
    st, head = raw(b"GET /users\x00x HTTP/1.1")
    check(st == 400, "NUL in the path: %d" % st)
    st, h, body = req("GET", "/nothing-here", cookies=adm)
    check(st == 404, "unknown page: %d" % st)
    secure(h, "404")
    st, h, body = req("GET", "/static/console.css")
    check(st == 200 and h.get("content-type", "").startswith("text/css"), "style sheet")
    secure(h, "css")

    # ---- 事项: malformed filters and ids ----
    for path in ["/matters?page=x", "/matters?department=..%2Fx", "/matters?q=%zz"]:
        st, h, body = req("GET", path, cookies=sup)
        check(st == 400, "%s: %d" % (path, st))
    for path in ["/matters/NOPE", "/matters/a/b"]:
        st, h, body = req("GET", path, cookies=sup)
        check(st == 404, "%s: %d" % (path, st))
    st, h, body = req("GET", "/matters", cookies=rev1)
    check(st == 200 and 'name="department"' not in body, "a reviewer cannot choose a department")

    # ---- 报表: the same CSV as audit report --csv, the same cells in the XLSX ----
    n3 = len(leaves())
    st, h, body = req("GET", "/reports/download?period=%s&format=csv" % month_now, cookies=sup)
    cli = run_bytes("audit", "report", "--month", month_now, "--csv").stdout.decode()
    check(st == 200 and h.get("content-type", "").startswith("text/csv") and body == cli,
          "CSV download equals audit report --csv (%d)" % st)
    check('filename="report-%s.csv"' % month_now in (h.get("content-disposition") or ""),
          "CSV filename")
    secure(h, "csv download")
    check(leaves()[n3:] and leaves()[n3].startswith("patrol-web-report\n%s\ncounty\ncsv\n" %
                                                     month_now), "report download leaf")
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("GET", "/reports/download?period=%s&format=xlsx" % month_now[:4],
              headers={"Cookie": "__Host-pw_s=" + sup["__Host-pw_s"]})
    r = c.getresponse()
    xb = r.read()
    c.close()
    check(r.status == 200 and xb[:2] == b"PK", "XLSX download: %d" % r.status)
    xl = os.path.join(TMP, "cli.xlsx")
    run("audit", "report", "--year", month_now[:4], "--xlsx", xl)
    try:
        import io
        import openpyxl

        def cells(f):
            wb = openpyxl.load_workbook(f)
            return [[[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets]
        check(cells(io.BytesIO(xb)) == cells(xl), "XLSX cells equal audit report --xlsx")
    except ImportError:
        print("note: python3-openpyxl absent, XLSX cells not compared")
    for bad in ["period=2026-13&format=csv", "period=2026&format=pdf", "period=../x&format=csv",
                "format=csv"]:
        st, h, body = req("GET", "/reports/download?" + bad, cookies=sup)
        check(st == 400, "report %s: %d" % (bad, st))
    # A reviewer's is its department's: here one without entries or
    # reference data, which audit report refuses too.
    st, h, body = req("GET", "/reports/download?period=%s&format=csv" % month_now, cookies=rev1)
    r = run_bytes("audit", "report", "--month", month_now, "--department", "SY-CGJ", "--csv")
    check((st == 200 and body == r.stdout.decode()) if r.returncode == 0 else st == 404,
          "a reviewer's CSV is its department's (%d, audit report exit %d)" % (st, r.returncode))

    # ---- 完整性: audit verify on demand ----
    st, h, body = req("GET", "/integrity", cookies=sup)
    check(st == 200 and 'id="verify-none"' in body, "no verify yet")
    st, h, body = req("POST", "/integrity/run", {"csrf": rev1_csrf}, cookies=rev1)
    check(st == 403, "a reviewer runs verify: %d" % st)
    st, h, body = req("POST", "/integrity/run", {}, cookies=sup)
    check(st == 403, "verify without its token: %d" % st)
    n4 = len(leaves())
    st, h, body = req("POST", "/integrity/run", {"csrf": sup_csrf}, cookies=sup)
    check(st == 303 and h.get("location") == "/integrity", "verify: %d" % st)
    v = json.loads(run("audit", "verify", "--json").stdout)
    st, h, body = req("GET", "/integrity", cookies=rev1)
    m = re.search(r'id="verify-result">([^<]*)<', body)
    check(st == 200 and m and m.group(1) == ("通过" if v["ok"] else "未通过"),
          "verify result shown: %r" % (m and m.group(1)))
    for k in ("entries", "integrity_failures", "anomalies", "notices"):
        mm = re.search(r'id="v-%s">(\d+)<' % k, body)
        check(mm and int(mm.group(1)) == v[k], "verify %s as audit verify --json" % k)
    check(any(l.startswith("patrol-web-verify\n%s\n" % ("ok" if v["ok"] else "fail"))
              for l in leaves()[n4:]), "verify leaf")

    # ---- 清单: the latest reference data, read only ----
    st, h, body = req("GET", "/lists", cookies=rev1)
    check(st == 200 and 'id="lists-none"' in body, "no reference data yet")
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                          "reference-sample.json")
    r = run("lists", "import", sample)
    check(r.returncode == 0, "lists import: %s" % r.stderr)
    st, h, body = req("GET", "/lists", cookies=rev1)
    items = sum(len(l.get("items", [])) for l in json.load(open(sample)).get("lists", []))
    m = re.search(r'id="lists-version">(\d+)<', body)
    check(st == 200 and m and m.group(1) == "1", "reference version 1 shown")
    check(items > 0 and body.count("<tr>", body.find('id="list-items"')) == items + 1,
          "every list item shown (%d)" % items)

    # ---- 清单 import from the browser: the same checks as lists import ----
    def upload(cookies, csrf, content, filename="lists.json", boundary="----pwTestBoundary7",
               extra=b""):
        parts = b""
        if csrf is not None:
            parts += (b"--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n" %
                      (boundary.encode(), csrf.encode()))
        if content is not None:
            parts += (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                      b"Content-Type: application/json\r\n\r\n" % (boundary.encode(),
                                                                   filename.encode()) +
                      content + b"\r\n")
        body = parts + extra + b"--%s--\r\n" % boundary.encode()
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
        c.request("POST", "/lists/import", body=body, headers={
            "Cookie": "; ".join("%s=%s" % kv for kv in cookies.items()),
            "Content-Type": "multipart/form-data; boundary=" + boundary})
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        c.close()
        return r.status, r.headers, data

    def dump():
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "patrold.db"), uri=True)
        d = list(db.iterdump())
        db.close()
        return d

    sample_d = json.load(open(sample, encoding="utf-8"))

    def edited(edit):
        d = json.loads(json.dumps(sample_d))
        edit(d)
        return json.dumps(d, ensure_ascii=False).encode()

    def set_(path, value):
        def f(d):
            o = d
            for k in path[:-1]:
                o = o[k]
            o[path[-1]] = value
        return f

    def delete(path):
        def f(d):
            o = d
            for k in path[:-1]:
                o = o[k]
            del o[path[-1]]
        return f
    dump0 = dump()
    n5 = len(leaves())
    # Each broken copy, the malformed bytes and forms: refused, the place
    # named, the database byte for byte as it was.
    for what, content, status, where in [
            ("a department naming an unknown domain",
             edited(set_(["departments", 2, "domains", 0], "xyz")), 400,
             "departments[2].domains[0]: "),
            ("a department without a name", edited(delete(["departments", 1, "name"])), 400,
             "departments[1].name: "),
            ("an item code twice", edited(set_(["lists", 2, "items", 1, "code"], "CG-NP-002")), 400,
             "lists[2].items[1].code: "),
            ("an unknown key", edited(set_(["lists", 0, "items", 0, "condition"], [])), 400,
             "lists[0].items[0]: "),
            ("not UTF-8", b'{"version": "\xff"}', 400, None),
            ("not JSON", b'{"version": "x",\n "departments": [', 400, None),
            ("an empty file", b"", 400, None)]:
        st, h, body = upload(adm, adm_csrf, content)
        shown = where and where.replace("'", "&#39;") in body
        check(st == status and 'id="refusal"' in body and "未导入" in body and
              (where is None or shown), "upload %s: %d %s" % (what, st, re.sub(
                  r"\s+", " ", re.sub(r"<[^>]+>", " ", body))[-300:]))
        check(dump() == dump0, "upload %s: nothing changed" % what)
    if os.environ.get("PATROL_LOCALEDIR"):  # the sentences lists import prints, in Chinese
        st, h, body = upload(adm, adm_csrf, edited(set_(["lists", 2, "items", 1, "code"],
                                                        "CG-NP-002")))
        check("lists[2].items[1].code: “CG-NP-002”出现了两次（首次见于 lists[0].items[1].code）"
              in body, "the place and the rule in Chinese")
        st, h, body = upload(adm, adm_csrf, b'{"version": "\xff"}')
        check("不是有效的 UTF-8 文本" in body, "not UTF-8, said in Chinese")
        st, h, body = upload(adm, adm_csrf, b'{"version": "x",\n "departments": [')
        check("不是有效的 JSON（约在第 33 字节处）" in body, "not JSON, its byte named in Chinese")
    # Markup in the file's name is text.
    st, h, body = upload(adm, adm_csrf, b"[1", filename="<script>x.json")
    check(st == 400 and "<script>x" not in body and "&lt;script&gt;x.json" in body,
          "the file name escaped")
    for what, cookies, csrf, content, extra, status in [
            ("a supervisor", sup, sup_csrf, open(sample, "rb").read(), b"", 403),
            ("a reviewer", rev1, rev1_csrf, open(sample, "rb").read(), b"", 403),
            ("no token", adm, None, open(sample, "rb").read(), b"", 403),
            ("a wrong token", adm, "B" * 43, open(sample, "rb").read(), b"", 403),
            ("no file part", adm, adm_csrf, None, b"", 400),
            ("a part without its name", adm, adm_csrf, None,
             b"------pwTestBoundary7\r\nContent-Disposition: form-data\r\n\r\nx\r\n", 400)]:
        st, h, body = upload(cookies, csrf, content, extra=extra)
        check(st == status, "upload by %s: %d, not %d" % (what, st, status))
        check(dump() == dump0, "upload by %s: nothing changed" % what)
    st, h, body = req("POST", "/lists/import", {"csrf": adm_csrf}, cookies=adm)
    check(st == 400 and dump() == dump0, "an urlencoded post to import: %d" % st)
    big = b" " * (4 << 20) + open(sample, "rb").read()
    st, h, body = upload(adm, adm_csrf, big)
    check(st == 413 and dump() == dump0, "a file over 4 MiB: %d" % st)
    check(leaves()[n5:] == [], "no leaf for what was refused: %r" % leaves()[n5:])
    # The sample, version 2 with another label: stored, with the command's
    # leaf and the account's, the same blob as lists import stored.
    v2 = edited(set_(["version"], "2026.11-console.2"))
    st, h, body = upload(adm, adm_csrf, v2, filename="清单 v2.json")
    check(st == 303 and h.get("location") == "/lists", "upload: %d" % st)
    lv = leaves()[n5:]
    check(len(lv) == 2 and lv[0].startswith("patrol-lists\n2\n") and
          lv[1].startswith("patrol-web-admin\nlists-import\n2\nadmin\n"),
          "upload leaves: %r" % lv)
    st, h, body = req("GET", "/lists", cookies=sup)
    m = re.search(r'id="lists-version">(\d+)<', body)
    check(st == 200 and m and m.group(1) == "2" and 'id="lists-label">2026.11-console.2<' in body,
          "the latest is version 2")
    check(body.count("<tr", body.find('id="lists-versions"'), body.find("</table>",
          body.find('id="lists-versions"'))) == 3, "two versions listed")
    check('action="/lists/import"' not in body, "a supervisor has no import form")
    st, h, body = req("GET", "/lists", cookies=adm)
    check('action="/lists/import"' in body and 'enctype="multipart/form-data"' in body,
          "the admin's import form")
    # The older version is viewable.
    st, h, body = req("GET", "/lists?version=1", cookies=rev1)
    check(st == 200 and 'id="lists-version">1<' in body and
          ('id="lists-label">%s<' % sample_d["version"]) in body, "version 1 viewable")
    for q, status in [("version=abc", 400), ("version=0", 400), ("version=-1", 400),
                      ("version=99", 404), ("version=%ff", 400)]:
        st, h, body = req("GET", "/lists?" + q, cookies=rev1)
        check(st == status, "/lists?%s: %d, not %d" % (q, st, status))
    # Markup, quotes and ../ in every text of a list file are shown as text.
    evil = '<script>alert(1)</script>"\'../x'
    def markup(d):
        d["version"] = "v3" + evil
        d["note"] = evil
        d["departments"][0]["name"] = "局" + evil
        d["lists"][0]["items"][0]["name"] = "项" + evil
    st, h, body = upload(adm, adm_csrf, edited(markup), filename=evil + ".json")
    check(st == 303, "a list file with markup in its texts is imported: %d %s" % (st, body[-300:]))
    st, h, body = req("GET", "/lists", cookies=sup)
    check(st == 200 and "<script>" not in body and
          body.count("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;../x") >= 4,
          "markup in a list file is escaped on 清单")
    # The same bytes through lists import give the same blob.
    open(os.path.join(TMP, "v2.json"), "wb").write(v2)
    check(run("lists", "import", os.path.join(TMP, "v2.json")).returncode == 0, "lists import v2")
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "patrold.db"), uri=True)
    blobs = [bytes(r[0]) for r in db.execute("SELECT blob FROM reference ORDER BY version")]
    db.close()
    check(len(blobs) == 4 and blobs[1] == blobs[3], "the console stored what lists import stores")

    # ---- oversized form ----
    st, h, body = req("POST", "/users/disable", "csrf=%s&name=rev2&pad=%s" % (adm_csrf, "x" * 9000),
                      cookies=adm)
    check(st == 413, "oversized form: %d" % st)
    check(accounts() == before, "oversized form changed nothing")

    # ---- the dashboard: audit report's figures ----
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    rep = json.loads(run("audit", "report", "--month", month, "--json").stdout)
    st, h, body = req("GET", "/?month=" + month, cookies=sup)
    check(st == 200, "dashboard %d" % st)
    secure(h, "dashboard")
    shown = {(t, k): v for t, k, v in re.findall(
        r'data-table="([a-z_]+)" data-key="([^"]+)">([^<]*)<', body)}
    want = {}
    for t, rows in rep["scopes"]["county"].items():
        if isinstance(rows, dict):
            for k, v in rows.items():
                if (t, k) in shown:
                    want[(t, k)] = "—" if v is None else str(int(v))
    check(len(shown) >= 30, "dashboard shows %d figures" % len(shown))
    check(all(shown[k] == want.get(k) for k in shown),
          "dashboard differs from audit report --json: %r" %
          [(k, shown[k], want.get(k)) for k in shown if shown[k] != want.get(k)][:5])
    check("<svg" in body and "<script" not in body, "chart drawn as SVG, no inline script")
    m = re.search(r'id="problems" data-count="(\d+)"', body)
    check(m and int(m.group(1)) == len(json.loads(run("audit", "problems", "--json").stdout)),
          "problems list as audit problems --json")
    for bad in ["2026-13", "../x", "2026-1", "<script>"]:
        st, h, body = req("GET", "/?month=" + urllib.parse.quote(bad), cookies=sup)
        check(st == 400 and "<script>" not in body, "month %r: %d" % (bad, st))
    st, h, body = req("GET", "/", cookies=rev1)
    check(st == 200 and 'id="scope">SY-CGJ<' in body and "--department SY-CGJ" in body,
          "a reviewer's dashboard is its department")

    # ---- disabling ends sessions: console and CLI ----
    rev2, rev2_csrf = login("rev2", "review pass 2")
    n1 = len(leaves())
    st, h, body = req("POST", "/users/disable", {"csrf": adm_csrf, "name": "rev2"}, cookies=adm)
    check(st == 303 and h.get("location") == "/users", "admin disables rev2: %d" % st)
    check(leaves()[n1:] and leaves()[n1].startswith("patrol-web-admin\ndisable-user\nrev2\nadmin\n"),
          "admin action leaf: %r" % leaves()[n1:])
    st, h, body = req("GET", "/", cookies=rev2)
    check(st == 303, "disabled account's session ended: %d" % st)
    _, body = login("rev2", "review pass 2", 401)
    check("已停用" in body, "a disabled account cannot log in")
    check(leaves()[-1].startswith("patrol-web-login-failed\nrev2\ndisabled\n"), "disabled login leaf")
    r = run("user", "disable", "--name", "rev1")
    check(r.returncode == 0, "CLI disable")
    st, h, body = req("GET", "/", cookies=rev1)
    check(st == 303, "CLI disable ends the session: %d" % st)

    # ---- logout ----
    st, h, body = req("POST", "/logout", {"csrf": "C" * 43}, cookies=sup)
    check(st == 403, "logout without its token: %d" % st)
    st, h, body = req("GET", "/", cookies=sup)
    check(st == 200, "a refused logout keeps the session")
    st, h, body = req("POST", "/logout", {"csrf": sup_csrf}, cookies=sup)
    check(st == 303 and h.get("location") == "/login", "logout: %d" % st)
    check(leaves()[-1].startswith("patrol-web-logout\nsup\n"), "logout leaf")
    st, h, body = req("GET", "/", cookies=sup)
    check(st == 303, "logout ended the session: %d" % st)

    # ---- per-account lock: 5 wrong passwords, then even the right one waits ----
    for i in range(5):
        login("sup", "wrong %d" % i, 401)
    _, body = login("sup", "super pass 1", 429)
    check("锁定" in body, "locked account page")
    check(leaves()[-1].startswith("patrol-web-login-failed\nsup\nlocked\n"), "lock leaf")
    # ---- per-address throttle: a burst of tries is answered 429 ----
    got429 = False
    for i in range(25):
        tok = login_form()
        st, h, body = req("POST", "/login", {"csrf": tok, "name": "nobody%d" % i, "password": "x" * 8},
                          cookies={"__Host-pw_l": tok})
        if st == 429:
            got429 = h.get("retry-after") is not None
            if os.environ.get("WEB_DEBUG"):
                print("throttle 429", dict(h))
            break
        if os.environ.get("WEB_DEBUG"):
            print("throttle try", i, st, dict(h))
    check(got429, "address throttle answers 429 with Retry-After")
finally:
    srv.terminate()
    try:
        srv.wait(15)
        # A clean exit (under the sanitizers: no leak, no error report).
        check(srv.returncode == 0, "serve exited %s" % srv.returncode)
    except subprocess.TimeoutExpired:
        srv.kill()
        check(False, "serve did not stop on SIGTERM")
    log.seek(0)
    text = log.read()
    if failures:
        print(text[-3000:])
    subprocess.run(["rm", "-rf", TMP])

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok: web_http")
