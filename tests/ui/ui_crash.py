#!/usr/bin/python3
"""patrol ui killed (kill -9) while a form is being submitted or a file
uploaded (issue 9, "the process killed mid-form"): after every kill
`patrol verify` passes; the journal holds either nothing of the form or
all of it (a subject; an evidence file; a signed 送达回证 with its two
signature files); no partial file is left, neither in patrol ui's
temporary directory (the next launch removes what the killed one left)
nor in the store's evidence/tmp; and the next launch works (it answers,
and records).

Kills land at random moments (seeded) of four requests:
  upload-cut   an 8 MB photo whose body is still arriving (a browser that
               is sending it), killed mid-body;
  evidence     the same photo sent whole, killed as it is received,
               hashed, copied into the store, recorded;
  deliver      a delivery signed on the screen (strokes and image are
               imported as evidence, then the delivery recorded);
  subject      a subject added.
A signed delivery is its signature's two evidence entries and the delivery,
committed in one transaction (patrol_record_with_evidence): a kill leaves
all three or none, never the signature without the delivery naming it.

usage: ui_crash.py PATROL PATROL_UI [LOCALEDIR]
  UI_CRASH_TRIALS (default 16), UI_CRASH_SEED (default: the time)
"""
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uitmp import leftovers as uitmp_leftovers  # noqa: E402

patrol, patrol_ui = sys.argv[1], sys.argv[2]
# A cross build runs the binaries through an emulator (PATROL_EMULATOR,
# e.g. "qemu-aarch64 -L SYSROOT", set by ctest there; docs/build.md).
EMU = shlex.split(os.environ.get("PATROL_EMULATOR", ""))
env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="zh_CN.UTF-8")
if len(sys.argv) > 3:
    env["PATROL_LOCALEDIR"] = sys.argv[3]
trials = int(os.environ.get("UI_CRASH_TRIALS", "16"))
seed = int(os.environ.get("UI_CRASH_SEED", str(int(time.time()))))
rng = random.Random(seed)
tmp = tempfile.mkdtemp(prefix="patrol-ui-crash-")
store = os.path.join(tmp, "store")
uitmp = os.path.join(tmp, "uitmp")
os.mkdir(uitmp)
failures = []
PHOTO = b"\xff\xd8\xff\xe0" + bytes(8 * 1024 * 1024)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, check_rc=True):
    r = subprocess.run([*EMU, patrol, "--store", store, *args], env=env, capture_output=True,
                       text=True, timeout=120)
    if check_rc and r.returncode != 0:
        sys.exit(f"FAIL: patrol {' '.join(args)}: {r.returncode} {r.stderr}")
    return r


def log():
    return json.loads(run("log", "--json").stdout)


def leftovers():
    """Files patrol ui left in its TMPDIR but a live launch's lock."""
    return uitmp_leftovers(uitmp)


def store_tmp():
    d = os.path.join(store, "evidence", "tmp")
    return os.listdir(d) if os.path.isdir(d) else []


class UI:
    def __init__(self):
        self.p = subprocess.Popen([*EMU, patrol_ui, "--store", store, "--listen", "127.0.0.1:0"],
                                  env=dict(env, TMPDIR=uitmp), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode().strip()
        m = re.match(r"http://127\.0\.0\.1:(\d+)/\?k=([0-9a-f]{64})$", line)
        if not m:
            sys.exit(f"FAIL: patrol ui printed {line!r}: {self.p.stderr.read()!r}")
        self.port, self.secret = int(m.group(1)), m.group(2)
        self.host = f"127.0.0.1:{self.port}"

    def head(self, path, ctype, length):
        return (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: patrol_ui={self.secret}"
                f"\r\nOrigin: http://{self.host}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()

    def request(self, method, path, body=b"", ctype="application/x-www-form-urlencoded"):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        if method == "GET":
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: patrol_ui="
                      f"{self.secret}\r\nConnection: close\r\n\r\n".encode())
        else:
            s.sendall(self.head(path, ctype, len(body)) + body)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        status = int(data.split(b" ", 2)[1])
        return status, data.decode("utf-8", "replace")

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=20)
        err = self.p.stderr.read().decode("utf-8", "replace")
        check(rc == 0 and "Sanitizer" not in err and "runtime error" not in err,
              f"patrol ui ended with {rc}: {err[-2000:]}")


def multipart(fields, files):
    b = "crashboundary5"
    parts = []
    for k, v in fields.items():
        parts.append(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
                     + v.encode() + b"\r\n")
    for k, (fn, ct, data) in files.items():
        parts.append(f'--{b}\r\nContent-Disposition: form-data; name="{k}"; filename="{fn}"'
                     f'\r\nContent-Type: {ct}\r\n\r\n'.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{b}--\r\n".encode(), "multipart/form-data; boundary=" + b


def id_number(n):
    """A valid identity card number, a different one for each n."""
    body = f"11010519800101{n % 1000:03d}"
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]


def csrf_of(page):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    return m.group(1) if m else ""


run("init", "--department", "SY-SCJGJ", "--device-name", "handheld-1")
run("inspector", "add", "--id", "I1", "--name", "张三", "--cert-no", "32130001")
run("subject", "add", "--credit-code", "91350100M000100Y43", "--name", "某某便利店")
S = log()[-1]["object"]
run("matter", "open", "--subject", S, "--inspector", "I1", "--domain", "market_regulation",
    "--summary", "店外摆卖")
M = log()[-1]["object"]
run("consent", "--matter", M, "--accept")

SIG = {"sig_strokes": '{"w":720,"h":440,"strokes":[[[10,10,0],[60,40,16],[120,30,33]]]}',
       "sig_png": "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
EXPECT = {"upload-cut": [], "evidence": ["evidence.add"],
          "deliver": ["evidence.add", "evidence.add", "document.deliver"],
          "subject": ["subject.add"]}
counts = {k: {"none": 0, "whole": 0} for k in EXPECT}
print(f"UI_CRASH_SEED={seed} UI_CRASH_TRIALS={trials}")
ui = UI()
try:
    for t in range(trials):
        what = ["upload-cut", "evidence", "deliver", "subject"][t % 4]
        st, page = ui.request("GET", "/form?kind=subject.add")
        csrf = csrf_of(page)
        check(st == 200 and csrf, f"trial {t}: the launch answers ({st})")
        docid = ""
        if what == "deliver":
            # A document to deliver, issued through the pages.
            st, page = ui.request("POST", "/record", urllib.parse.urlencode(
                {"kind": "document.issue", "target": M, "f.purpose": "p", "f.content": "c",
                 "f.time": "t", "f.personnel": "p", "csrf": csrf}).encode())
            m = re.search(r"Location: /document\?id=(D-[^&\r]+)", page)
            check(st == 303 and m, f"trial {t}: document.issue ({st})")
            docid = m.group(1) if m else ""
        before = log()
        if what == "upload-cut":
            body, ct = multipart({"csrf": csrf, "matter": M, "kind": "photo"},
                                 {"file": ("big.jpg", "image/jpeg", PHOTO)})
            s = socket.create_connection(("127.0.0.1", ui.port))
            s.sendall(ui.head("/evidence", ct, len(body)))
            cut = rng.randint(1, len(body) - 1)
            s.sendall(body[:cut])
            time.sleep(rng.uniform(0, 0.2))
            ui.kill()
            s.close()
        else:
            if what == "evidence":
                body, ct = multipart({"csrf": csrf, "matter": M, "kind": "photo"},
                                     {"file": ("photo.jpg", "image/jpeg", PHOTO)})
                path = "/evidence"
            elif what == "deliver":
                body, ct = multipart(dict({"kind": "document.deliver", "target": docid,
                                           "f.method": "in_person", "f.recipient": "王五",
                                           "csrf": csrf}, **SIG), {})
                path = "/record"
            else:
                body = urllib.parse.urlencode(
                    {"kind": "subject.add", "f.type": "person", "f.name": f"崩溃{t}",
                     "f.id_number": id_number(t), "csrf": csrf}).encode()
                ct = "application/x-www-form-urlencoded"
                path = "/record"
            s = socket.create_connection(("127.0.0.1", ui.port))
            s.sendall(ui.head(path, ct, len(body)) + body)
            time.sleep(rng.uniform(0, 0.15 if what != "evidence" else 0.4))
            ui.kill()
            s.close()
        after = log()
        new = [e["kind"] for e in after[len(before):]]
        exp = EXPECT[what]
        if new == []:
            counts[what]["none"] += 1
        elif new == exp:
            counts[what]["whole"] += 1
        else:
            check(False, f"trial {t} ({what}): half recorded: {new}")
        r = run("verify", check_rc=False)
        check(r.returncode == 0, f"trial {t} ({what}): verify after the kill: {r.stdout} "
                                 f"{r.stderr}")
        # The next launch: what the killed one left is removed, it answers.
        ui = UI()
        check(not leftovers(), f"trial {t} ({what}): left in TMPDIR: {leftovers()}")
        check(not store_tmp(), f"trial {t} ({what}): left in the store: {store_tmp()}")
    # The last launch records (a subject), and ends cleanly.
    st, page = ui.request("GET", "/form?kind=subject.add")
    n0 = len(log())
    st, _ = ui.request("POST", "/record", urllib.parse.urlencode(
        {"kind": "subject.add", "f.type": "person", "f.name": "崩溃之后",
         "f.id_number": id_number(999), "csrf": csrf_of(page)}).encode())
    check(st == 303 and len(log()) == n0 + 1, f"the launch after the kills records ({st})")
finally:
    ui.stop()
check(not leftovers(), f"left in TMPDIR after a clean stop: {leftovers()}")

print("outcomes by request (nothing recorded / all of it):",
      {k: (v["none"], v["whole"]) for k, v in counts.items()})
shutil.rmtree(tmp, ignore_errors=True)
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("ok")
