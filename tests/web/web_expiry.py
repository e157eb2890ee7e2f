#!/usr/bin/env python3
"""web_expiry.py -- 监督平台's sessions end after their idle and absolute
lifetimes (shortened for the test by PATROLD_WEB_IDLE_S=2 and
PATROLD_WEB_ABSOLUTE_S=5): a session unused 3 s is refused, a session used
every second still ends at 5 s; a fresh login works again.

  web_expiry.py PATROLD
"""
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.parse

PATROLD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="web_expiry_")
DATA = os.path.join(TMP, "data")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*a, stdin=None):
    return subprocess.run([PATROLD, "--data", DATA] + list(a), input=stdin, capture_output=True,
                          text=True, env=dict(os.environ, LANG="C"))


assert run("init").returncode == 0
assert run("user", "add", "--name", "sup", "--role", "supervisor", stdin="super pass 1\n").returncode == 0
log = open(os.path.join(TMP, "serve.log"), "w+")
srv = subprocess.Popen([PATROLD, "--data", DATA, "serve", "--listen", "127.0.0.1:0",
                        "--web-listen", "127.0.0.1:0"], stdout=log, stderr=log,
                       env=dict(os.environ, PATROLD_WEB_IDLE_S="2", PATROLD_WEB_ABSOLUTE_S="5"))
port = None
for _ in range(100):
    time.sleep(0.1)
    log.seek(0)
    m = re.search(r"event=web_listening addr=127\.0\.0\.1:(\d+)", log.read())
    if m:
        port = int(m.group(1))
        break
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def req(method, path, body=None, cookies=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    h = {}
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    if body is not None:
        body = urllib.parse.urlencode(body)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    d = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, r.headers, d


def login():
    st, h, body = req("GET", "/login")
    tok = re.search(r"__Host-pw_l=([A-Za-z0-9_-]{43});", h.get("set-cookie")).group(1)
    st, h, body = req("POST", "/login", {"csrf": tok, "name": "sup", "password": "super pass 1"},
                      cookies={"__Host-pw_l": tok})
    return {"__Host-pw_s": re.search(r"__Host-pw_s=([A-Za-z0-9_-]{43});",
                                     h.get("set-cookie")).group(1)}


try:
    assert port, "no web listener"
    s = login()
    check(req("GET", "/", cookies=s)[0] == 200, "a fresh session works")
    time.sleep(3)
    st, h, _ = req("GET", "/", cookies=s)
    check(st == 303 and h.get("location") == "/login", "idle 3 s > 2 s: refused (%d)" % st)
    check(req("GET", "/", cookies=s)[0] == 303, "an expired session stays ended")
    s = login()
    t0 = time.time()
    ok_until = 0
    while time.time() - t0 < 7:
        if req("GET", "/", cookies=s)[0] == 200:
            ok_until = time.time() - t0
        time.sleep(1)
    check(4 <= ok_until < 6, "used every second, the session ends at 5 s (last 200 at %.1f s)" % ok_until)
    check(req("GET", "/", cookies=login())[0] == 200, "a new login works")
finally:
    srv.terminate()
    srv.wait(15)
    check(srv.returncode == 0, "serve exited %s" % srv.returncode)
    subprocess.run(["rm", "-rf", TMP])
if failures:
    sys.exit(1)
print("ok: web_expiry")
