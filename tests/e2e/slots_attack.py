#!/usr/bin/env python3
"""slots_attack.py -- hostile clients for tests/e2e/test_slots.sh and
test_signals.sh: each command plays one attack on a running patrold from a
given loopback source address (127.0.0.2, ...) and prints one JSON line.

  hold PORT SECONDS SRC[,SRC...] [--bare N] [--tls N] [--trickle N]
      keep N bare TCP sockets, N TLS connections that never send a request
      and N TLS connections that trickle header bytes, from each SRC, and
      open new ones as soon as the server closes any ("as many as it can")
  trickle PORT SRC LIMIT_S
      one TLS connection that sends a request's headers a byte every 0.25 s;
      when and how the server ended it
  refuse PORT SRC PATH
      one GET without a client certificate: its status, and whether the
      server closed the connection after answering
  flood PORT SRC N METHOD PATH
      N requests, each on a new connection (no certificate); statuses counted
  bodies PORT CERT KEY N SIZE PID HOLD_S
      N connections with a client certificate, each POSTing a SIZE-byte
      batch body but the last byte, held HOLD_S s; peak VmHWM of PID
Standard library only.
"""
import json
import os
import resource
import socket
import ssl
import sys
import threading
import time


def ctx(cert=None, key=None):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE  # the pin is not the point here
    if cert:
        c.load_cert_chain(cert, key)
    return c


def tcp(port, src, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def tls(port, src, c, timeout=5.0):
    s = tcp(port, src, timeout)
    return c.wrap_socket(s)


def closed_by_peer(s):
    """True when the server closed s (EOF or reset), without blocking."""
    s.setblocking(False)
    try:
        d = s.recv(4096)
        return d == b"" or d.startswith(b"HTTP/1.1 4")
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cmd_hold(port, seconds, srcs, bare=0, ntls=0, trickle=0):
    raise_nofile()
    c = ctx()
    held = []  # (kind, src, sock)
    opened = failed = closed = 0
    end = time.time() + seconds
    want = [(k, src) for src in srcs for k, n in (("bare", bare), ("tls", ntls),
                                                   ("trickle", trickle)) for _ in range(n)]
    last_byte = 0.0
    while time.time() < end:
        have = {}
        for k, src, _ in held:
            have[(k, src)] = have.get((k, src), 0) + 1
        need = {}
        for w in want:
            need[w] = need.get(w, 0) + 1
        for (k, src), n in need.items():
            for _ in range(n - have.get((k, src), 0)):
                if time.time() >= end:
                    break
                try:
                    if k == "bare":
                        s = tcp(port, src, 1.0)
                    else:
                        s = tls(port, src, c, 2.0)
                        if k == "trickle":
                            s.sendall(b"POST /v1/enroll HTTP/1.1\r\nX-Pad: ")
                    held.append((k, src, s))
                    opened += 1
                except OSError:
                    failed += 1
        now = time.time()
        if now - last_byte >= 1.0:
            last_byte = now
            for k, _, s in held:
                if k == "trickle":
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
        keep = []
        for h in held:
            if closed_by_peer(h[2]):
                closed += 1
                h[2].close()
            else:
                keep.append(h)
        held = keep
        time.sleep(0.05)
    n_held = len(held)
    for h in held:
        h[2].close()
    print(json.dumps({"opened": opened, "failed": failed, "closed_by_server": closed,
                      "held_at_end": n_held}))


def cmd_trickle(port, src, limit):
    s = tls(port, src, ctx())
    s.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nX-Pad: ")
    t0 = time.time()
    s.settimeout(0.25)
    answer = b""
    how = "still_open"
    while time.time() - t0 < limit:
        try:
            d = s.recv(4096)
            if not d:
                how = "closed"
                break
            answer += d
            continue
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        except OSError:
            how = "reset"
            break
        try:
            s.send(b"a")
        except OSError:
            how = "reset"
            break
    after = time.time() - t0
    status = int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else 0
    print(json.dumps({"end": how, "after_s": round(after, 2), "status": status}))


def cmd_refuse(port, src, path):
    s = tls(port, src, ctx())
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5.0)
    data = b""
    t0 = time.time()
    closed = False
    try:
        while True:
            d = s.recv(4096)
            if not d:
                closed = True
                break
            data += d
    except (socket.timeout, ssl.SSLError):
        pass
    except OSError:
        closed = True
    status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0
    print(json.dumps({"status": status, "closed": closed, "after_s": round(time.time() - t0, 2),
                      "connection_close": b"Connection: close" in data}))


def cmd_flood(port, src, n, method, path):
    c = ctx()
    counts = {}
    retry_after = 0
    for _ in range(n):
        try:
            s = tls(port, src, c)
            body = b"\x00garbage"
            s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                       % (method, path, len(body))).encode() + body)
            data = b""
            s.settimeout(5.0)
            while b"\r\n\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            st = data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "none"
            if b"Retry-After:" in data:
                retry_after += 1
            s.close()
        except OSError as e:
            st = "error:" + type(e).__name__
        counts[st] = counts.get(st, 0) + 1
    print(json.dumps({"statuses": counts, "retry_after": retry_after}))


def vm_hwm(pid):
    """Peak RSS of pid in KiB, or None when it cannot be read."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cmd_bodies(port, cert, key, n, size, pid, hold):
    raise_nofile()
    c = ctx(cert, key)
    before = vm_hwm(pid)
    res = {"held": 0, "busy": 0, "other": 0, "error": 0}
    lock = threading.Lock()
    chunk = b"\x00" * (1 << 20)
    socks = []

    def one():
        kind = "error"
        try:
            s = tls(port, "127.0.0.1", c, 10.0)
            socks.append(s)
            s.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/x-patrol-batch\r\nContent-Length: %d\r\n\r\n" % size)
            s.settimeout(0.5)
            try:
                d = s.recv(4096)
                kind = "busy" if d.startswith(b"HTTP/1.1 503") else "other"
            except (socket.timeout, ssl.SSLWantReadError):
                left = size - 1
                s.settimeout(20.0)
                while left > 0:
                    k = min(left, len(chunk))
                    s.sendall(chunk[:k])
                    left -= k
                kind = "held"
                # A loaded server may have answered 503 after the wait
                # above: the body then went to its lingering close.
                s.settimeout(0.3)
                try:
                    if s.recv(4096).startswith(b"HTTP/1.1 503"):
                        kind = "busy"
                except (socket.timeout, ssl.SSLWantReadError):
                    pass
        except OSError:
            pass
        with lock:
            res[kind] += 1

    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    time.sleep(hold)
    peak = vm_hwm(pid)
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    res.update({"hwm_before_kib": before, "hwm_peak_kib": peak})
    print(json.dumps(res))


def main(a):
    cmd = a[0]
    if cmd == "hold":
        opt = {"--bare": 0, "--tls": 0, "--trickle": 0}
        rest = a[4:]
        for i in range(0, len(rest), 2):
            opt[rest[i]] = int(rest[i + 1])
        cmd_hold(int(a[1]), float(a[2]), a[3].split(","), opt["--bare"], opt["--tls"],
                 opt["--trickle"])
    elif cmd == "trickle":
        cmd_trickle(int(a[1]), a[2], float(a[3]))
    elif cmd == "refuse":
        cmd_refuse(int(a[1]), a[2], a[3])
    elif cmd == "flood":
        cmd_flood(int(a[1]), a[2], int(a[3]), a[4], a[5])
    elif cmd == "bodies":
        cmd_bodies(int(a[1]), a[2], a[3], int(a[4]), int(a[5]), int(a[6]), float(a[7]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
