#!/usr/bin/python3
"""patrol ui's sync runs beside the pages (issue 9): while a sync hangs on
a server that answers nothing, the inspector records an entry and reads
pages, and each answer comes promptly; the sync page shows the sync
running (and refreshes itself), then its failure in Chinese; a second
sync (the CLI's) is refused while it runs; with the server back, a sync
from the page ends "synced" and the server acknowledges the entry recorded
meanwhile. Then patrol verify passes.

usage: ui_sync.py PATROL PATROL_UI PATROLD [LOCALEDIR]
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from station import Station  # noqa: E402

patrol, patrol_ui, patrold = sys.argv[1], sys.argv[2], sys.argv[3]
env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="zh_CN.UTF-8")
for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
    env.pop(k, None)
env["NO_PROXY"] = "*"
if len(sys.argv) > 4:
    env["PATROL_LOCALEDIR"] = sys.argv[4]
tmp = tempfile.mkdtemp(prefix="patrol-ui-sync-")
store = os.path.join(tmp, "store")
failures = []
PROMPT_S = 2.0   # an answer while a sync runs comes within this
HOLD_S = 4.0     # the silent server holds each connection this long


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def run(*args, check_rc=True):
    r = subprocess.run([patrol, "--store", store, *args], env=env, capture_output=True,
                       text=True, timeout=120)
    if check_rc and r.returncode != 0:
        sys.exit(f"FAIL: patrol {' '.join(args)}: {r.returncode} {r.stderr}")
    return r


class Silent(threading.Thread):
    """A server on the station's port that takes connections and says
    nothing (a TLS handshake that never ends), closing each after HOLD_S."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", port))
        self.s.listen(16)
        self.s.settimeout(0.2)
        self.stop = False
        self.accepted = 0

    def run(self):
        held = []
        while not self.stop:
            try:
                c, _ = self.s.accept()
                self.accepted += 1
                held.append((time.time(), c))
            except socket.timeout:
                pass
            now = time.time()
            for t, c in [x for x in held if now - x[0] > HOLD_S]:
                c.close()
            held = [x for x in held if now - x[0] <= HOLD_S]
        for _, c in held:
            c.close()
        self.s.close()


st = Station(patrold, os.path.join(tmp, "patrold"), env)
ui = None
silent = None
try:
    run("init", "--department", "SY-CGJ", "--device-name", "handheld-1")
    run("inspector", "add", "--id", "I1", "--name", "张三", "--cert-no", "32130001")
    url = st.serve()
    run("enroll", "--server", url, "--token", st.token("handheld-1"))
    run("subject", "add", "--credit-code", "91350100M000100Y43", "--name", "某某便利店")
    st.stop()
    silent = Silent(st.port)
    silent.start()

    # Launched as a handheld's launcher may, naming no language: the pages
    # are in 简体中文, and so is what the sync (a child process) reports.
    ui_env = dict(env, PATROL_SYNC_ATTEMPTS="2", PATROL_SYNC_BACKOFF_MS="100",
                  PATROL_SYNC_TIMEOUT_S="60", LANG="C")
    for k in ("LC_ALL", "LANGUAGE", "LC_MESSAGES"):
        ui_env.pop(k, None)
    ui = subprocess.Popen([patrol_ui, "--store", store, "--listen", "127.0.0.1:0"], env=ui_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = ui.stdout.readline().strip()
    m = re.match(r"http://127\.0\.0\.1:(\d+)/\?k=([0-9a-f]{64})$", line)
    if not m:
        sys.exit(f"FAIL: patrol ui printed {line!r}")
    port, secret = int(m.group(1)), m.group(2)
    host = f"127.0.0.1:{port}"

    def req(method, path, fields=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        h = {"Host": host, "Cookie": "patrol_ui=" + secret, "Origin": "http://" + host}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        t0 = time.monotonic()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        d = r.read().decode("utf-8", "replace")
        c.close()
        return r, d, time.monotonic() - t0

    def entries():
        return json.loads(run("log", "--json").stdout)

    r, page, _ = req("GET", "/sync")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    check(r.status == 200 and "立即同步" in page, "the sync page offers 立即同步")
    before = entries()

    # Start the sync from another "tab": its answer does not matter here.
    started = {}

    def start_sync():
        try:
            r, d, dt = req("POST", "/sync", {"csrf": csrf}, timeout=90)
            started.update(status=r.status, dt=dt, loc=r.getheader("Location"))
        except Exception as e:  # noqa: BLE001
            started.update(error=repr(e))

    th = threading.Thread(target=start_sync)
    th.start()
    time.sleep(0.8)
    check(silent.accepted >= 1, f"the sync reached the silent server ({silent.accepted})")

    # Meanwhile: record a subject and read pages, promptly.
    r, d, dt = req("POST", "/record", {"kind": "subject.add", "f.type": "person",
                                       "f.name": "同步期间", "f.id_number": "11010519491231002X",
                                       "csrf": csrf}, timeout=90)
    check(r.status == 303 and dt < PROMPT_S,
          f"an entry recorded during the sync answered in {dt:.2f} s (status {r.status})")
    r, d, dt = req("GET", "/", timeout=90)
    check(r.status == 200 and dt < PROMPT_S, f"the home page during the sync in {dt:.2f} s")
    r, d, dt = req("GET", "/sync", timeout=90)
    check(r.status == 200 and 'data-sync="running"' in d and dt < PROMPT_S,
          f"the sync page shows it running, in {dt:.2f} s")
    check((r.getheader("Refresh") or "") == "2", f"the running page refreshes itself "
          f"(Refresh: {r.getheader('Refresh')!r})")
    check("<progress" in d, "the running page has a progress bar")
    th.join(timeout=90)
    check(started.get("status") == 303 and started.get("loc") == "/sync" and
          started.get("dt", 99) < PROMPT_S, f"POST /sync answers at once: {started}")
    # A second sync, from the CLI, is refused while this one runs.
    r2 = subprocess.run([patrol, "--store", store, "sync"], capture_output=True, text=True,
                        env=dict(env, PATROL_SYNC_ATTEMPTS="1"), timeout=60)
    check(r2.returncode != 0 and ("正在" in r2.stderr or "already" in r2.stderr),
          f"a second sync meanwhile is refused: {r2.returncode} {r2.stderr.strip()}")
    # A second POST while running starts nothing new.
    r, d, dt = req("POST", "/sync", {"csrf": csrf})
    check(r.status == 303 and dt < PROMPT_S, "a second POST /sync while running")

    # The end: failed, said in Chinese, the entry recorded meanwhile kept.
    t0 = time.monotonic()
    d = ""
    while time.monotonic() - t0 < 60:
        r, d, _ = req("GET", "/sync")
        if 'data-sync="running"' not in d:
            break
        time.sleep(0.5)
    waited = time.monotonic() - t0
    check('data-sync="failed"' in d and r.getheader("Refresh") is None,
          f"the sync against a silent server ends failed ({waited:.1f} s more)")
    msg = re.search(r'data-sync="failed">([^<]*)<', d)
    check(msg and re.search(r"[\u4e00-\u9fff]", msg.group(1)),
          f"its reason in Chinese: {msg.group(1) if msg else d[-500:]!r}")
    after = entries()
    check(len(after) == len(before) + 1 and after[-1]["kind"] == "subject.add",
          "the entry recorded during the sync is in the journal")
    check('name="csrf"' in d and "/sync" in d, "the page offers to sync again")

    # The server back on its port: the page syncs, and says so.
    silent.stop = True
    silent.join()
    st.serve(st.port)
    r, d, dt = req("POST", "/sync", {"csrf": csrf})
    check(r.status == 303, "sync again")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        r, d, _ = req("GET", "/sync")
        if 'data-sync="running"' in d:
            time.sleep(0.3)
            continue
        break
    check('data-sync="done"' in d and "同步完成" in d, f"the second sync ends synced: {d[-800:]!r}")
    status = json.loads(run("status", "--json").stdout)
    check(status.get("acked_seq") == len(after) and status.get("head_seq") == len(after),
          f"the server acknowledged every entry: {status.get('acked_seq')}/{len(after)}")
    r = run("verify", check_rc=False)
    check(r.returncode == 0, f"verify: {r.stdout} {r.stderr}")
finally:
    if silent:
        silent.stop = True
    if ui:
        ui.send_signal(signal.SIGTERM)
        rc = ui.wait(timeout=20)
        err = ui.stderr.read()
        check(rc == 0 and "Sanitizer" not in err and "runtime error" not in err,
              f"patrol ui ended with {rc}: {err[-2000:]}")
    st.stop()
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")
