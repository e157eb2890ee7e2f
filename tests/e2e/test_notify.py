#!/usr/bin/env python3
"""test_notify.py -- patrold tells systemd what it is doing (Type=notify,
issue 12 item 3): with NOTIFY_SOCKET set, as systemd sets it, `serve` sends
READY=1 (with STATUS naming the address) once it listens -- not before its
listening line -- RELOADING=1 and READY=1 again around a SIGHUP reload, and
STOPPING=1 when SIGTERM stops it, which then exits 0.

usage: test_notify.py PATH/TO/patrold
"""
import os, re, signal, socket, subprocess, sys, tempfile, time

patrold = sys.argv[1]
fails = []


def check(desc, ok, seen=""):
    print(("ok - " if ok else "FAIL - ") + desc + ("" if ok else "  [%s]" % seen))
    if not ok:
        fails.append(desc)


def recv(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).decode("utf-8", "replace")
    except socket.timeout:
        return ""


with tempfile.TemporaryDirectory() as work:
    data = os.path.join(work, "data")
    subprocess.run([patrold, "--data", data, "init", "--name", "notify"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(work, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    log = os.path.join(work, "serve.log")
    with open(log, "wb") as err:
        p = subprocess.Popen([patrold, "--data", data, "serve", "--listen", "127.0.0.1:0"],
                             env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        msg = recv(sock, 30)
        check("READY=1 after the start", "READY=1" in msg, msg)
        text = open(log, encoding="utf-8").read()
        m = re.search(r"event=listening addr=127\.0\.0\.1:(\d+)", text)
        check("... after the listening line was written", m is not None, text[-300:])
        check("... with STATUS naming the address it listens on",
              m is not None and "STATUS=serving on 127.0.0.1:%s" % m.group(1) in msg, msg)
        p.send_signal(signal.SIGHUP)
        first = recv(sock, 20)
        second = recv(sock, 20)
        check("SIGHUP: RELOADING=1, then READY=1", "RELOADING=1" in first and "READY=1" in second,
              first + " | " + second)
        check("... and it still serves", p.poll() is None)
        p.send_signal(signal.SIGTERM)
        msg = recv(sock, 30)
        check("SIGTERM: STOPPING=1", "STOPPING=1" in msg, msg)
        rc = p.wait(timeout=30)
        check("... and exit 0 (%s)" % rc, rc == 0)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

print("test_notify: %d failed" % len(fails))
sys.exit(1 if fails else 0)
