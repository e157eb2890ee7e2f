#!/usr/bin/env python3
"""Shift change (issue 11, docs/bench.md "Shift change (issue 11)"): N
terminals -- separate processes, each with its own store, device key and
client certificate -- reach one patrold at once and sync a day's records.

Preparation, outside the timed part, once per entry count (a master of M
terminals serves any plan up to M; --fresh after a change of the store's or
the server's formats):
  patrold init; `patrold device add` once per terminal (its one-time token);
  patrold serve on a fixed 127.0.0.1 port; per terminal `patrol init`,
  `patrol enroll --server ... --token ...` (a real enrolment: the terminal's
  key, the certificate the server issues) and `shift_term record` (an
  inspector's day: about 30 matters, ENTRIES entries, texts in Chinese, a
  seed per terminal; no evidence). The master copy is kept under the work
  directory (WORK/patrol-bench-shift/master-ENTRIES) and reused.

Each run, on copies of the master (a store is a directory; so is the
server's data): patrold serve with the configuration a station admin would
write for this many terminals (shift.conf; its [limits] are printed),
--access-log on;
N `shift_term sync` processes open their stores and wait; once all are
ready the driver closes their common stdin and they sync together.
Measured:
  total     from the start to the last terminal done;
  ack       p50/p99 of the server's per-request time of POST /v1/batches
            (the access log's ms: the request's first byte to its answer,
            queueing for a worker included), and the terminals' own view:
            from the start to the progress call that reports every entry
            acknowledged (connect, TLS handshake, queueing, the batch);
  errors    terminals whose sync failed (with the reason), answers other
            than 2xx except back-pressure (503 busy, 429), refusals,
            failed handshakes and dropped connections in the server's log;
  server    CPU (user+sys, /proc/PID/stat) during the timed part, peak RSS
            (VmHWM), handshakes full/resumed (/metrics).
With --perf (on the largest N): perf record of patrold during the run;
samples split by thread and by what runs (mbedtls public-key arithmetic =
TLS handshakes, mbedtls record layer, OpenSSL = entry signatures, SQLite,
the rest), which gives the loop thread's share spent in handshakes.

  shift.py [--quick] [--plan N:R[,N:R...]] [--entries E] [--build DIR]
           [--work DIR] [--fresh] [--keep] [--perf] [--handshakes K]
           [--term-nice N]
  --plan     terminals and runs (default 100:3,200:3,500:2)
  --quick    --plan 20:1 --handshakes 20 (checks that everything works)
  --entries  entries per terminal (default 300)
  --build    build directory with patrold, patrol and shift_term
             (default: build-bench beside bench/; bench/run.sh builds it)
  --work     where the master and the runs go (default $TMPDIR or /tmp)
  --perf     perf record patrold during the runs of the largest N
  --term-nice N  the terminals run at nice N (default 19): on a station
             each is a device of its own, here they share the server's two
             CPUs, and at the server's priority 500 of them would take
             most of it
  --handshakes K  then K full handshakes one after the other against an
             idle patrold (curl with terminal 0's certificate): the loop
             thread's CPU per handshake; and the same against openssl
             s_server with patrold's keys (default 200; 0 skips)
Prints a line per run, a summary (median, min-max) per N and one JSON line
per N starting with {"bench":"shift".
"""
import argparse
import concurrent.futures
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

DEPT = "SY-SCJGJ"  # bench_util.h BU_DEPARTMENT: holds market_regulation


def die(msg):
    print("shift.py: " + msg, file=sys.stderr)
    sys.exit(1)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die("%s failed (%d): %s" % (" ".join(argv[:4]), p.returncode, p.stderr.strip()[-500:]))
    return p.stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(log, proc, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            die("patrold serve exited (%d); see %s" % (proc.returncode, log))
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                if "event=listening" in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    die("patrold did not listen within %d s; see %s" % (timeout, log))


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_conf(path, port, log, n, access_log):
    """The configuration a station admin writes for n terminals at once
    (docs/server.md "Limits, signals and logs"): every terminal holds one
    connection; all of them may be in their handshake together, and until
    it is done a connection counts against the room without a device
    certificate (max_connections - reserved_for_devices)."""
    max_conns = max(512, 2 * n + 64)
    limits = {
        "max_connections": max_conns,
        # Every terminal here comes from 127.0.0.1, as behind one NAT: the
        # per-address limit cannot tell them apart, so it is the whole
        # (n + 32 was too tight at 500: a terminal that gave up on an
        # answer reconnects while its old connection is still held by the
        # handler; 35 connections were refused). At a station where each
        # terminal has its own address the default 32 does.
        "max_per_peer": max_conns,
        # Half the slots for devices, so all n can handshake at once.
        "reserved_for_devices": max_conns // 2,
    }
    with open(path, "w") as f:
        f.write("[serve]\nlisten = 127.0.0.1:%d\nlog = %s\naccess_log = %s\n\n[limits]\n"
                % (port, log, "yes" if access_log else "no"))
        for k, v in limits.items():
            f.write("%s = %d\n" % (k, v))
    return limits


def prepare(a, master, n):
    """The master copy: server data with n devices enrolled, n stores."""
    info_path = os.path.join(master, "info.json")
    if os.path.exists(info_path) and not a.fresh:
        with open(info_path) as f:
            info = json.load(f)
        if info.get("terminals", 0) >= n and info.get("entries") == a.entries:
            return info
    if os.path.exists(master):
        shutil.rmtree(master)
    os.makedirs(master)
    srv = os.path.join(master, "srv")
    t0 = time.monotonic()
    run([a.patrold, "--data", srv, "init", "--name", "shift-change bench"])
    tokens = []
    for i in range(n):
        out = run([a.patrold, "--data", srv, "device", "add", "--name", "T%04d" % i,
                   "--department", DEPT])
        tok = out.strip().splitlines()[0] if out.strip() else ""
        if not tok.startswith("PT1."):
            die("patrold device add: no token in %r" % out[:200])
        tokens.append(tok)
    port = free_port()
    log = os.path.join(master, "prep.log")
    conf = os.path.join(master, "prep.conf")
    write_conf(conf, port, log, n, False)
    with open(conf, "a") as f:  # every enrolment comes from 127.0.0.1
        f.write("throttle_burst = 1000\nthrottle_per_min = 60000\n")
    proc = subprocess.Popen([a.patrold, "--data", srv, "serve", "--config", conf],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_listening(log, proc)
        url = "https://127.0.0.1:%d" % port

        def terminal(i):
            store = os.path.join(master, "t%04d" % i)
            run([a.patrol, "--store", store, "init", "--department", DEPT,
                 "--device-name", "T%04d" % i])
            run([a.patrol, "--store", store, "enroll", "--server", url, "--token", tokens[i]])
            rec = json.loads(run([a.term, "record", "--store", store, "--entries",
                                  str(a.entries), "--seed", str(i + 1)]))
            # The store keeps its WAL (megabytes after 300 commits): fold it
            # into the database once, so that each run copies less.
            db = sqlite3.connect(os.path.join(store, "patrol.db"))
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            return rec["pending_bytes"]

        # Recording is bound by fsync (one per entry): several at once.
        pending = 0
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            for k, b in enumerate(ex.map(terminal, range(n))):
                pending += b
                if (k + 1) % 50 == 0:
                    print("  prepared %d/%d terminals (%.0f s)" % (
                        k + 1, n, time.monotonic() - t0), file=sys.stderr)
    finally:
        stop(proc)
    info = {"terminals": n, "entries": a.entries, "port": port,
            "pending_bytes_per_terminal": pending / n, "prep_s": round(time.monotonic() - t0, 1)}
    with open(info_path, "w") as f:
        json.dump(info, f)
    return info


def proc_cpu_s(pid, tid=None):
    """User + system CPU seconds of a process (or of its thread tid)."""
    path = "/proc/%d/stat" % pid if tid is None else "/proc/%d/task/%d/stat" % (pid, tid)
    with open(path) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1


def metrics(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # loopback, the server this script started
    with urllib.request.urlopen("https://127.0.0.1:%d/metrics" % port, context=ctx,
                                timeout=30) as r:
        body = r.read().decode()
    m = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                m[k] = float(v)
            except ValueError:
                pass
    return m


def pct(v, q):
    """Nearest-rank percentile of v (q in 0..1); None if empty."""
    if not v:
        return None
    s = sorted(v)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


LOG_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log(path):
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            lines.append({k: v.strip('"') for k, v in LOG_KV.findall(line)})
    return lines


def perf_split(data, pid):
    """CPU by thread and by what runs, from perf script (symbols and DSOs)."""
    p = subprocess.run(["perf", "script", "-i", data, "-F", "tid,ip,sym,dso"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-300:]}
    # One sample: "  TID  \n\t ip sym (dso)" with -g; here without stacks:
    # "TID ip sym (dso)" on one line.
    cats, top = {}, {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        tid = int(parts[0])
        rest = " ".join(parts[2:])
        dso = rest[rest.rfind("(") + 1:rest.rfind(")")] if "(" in rest else ""
        sym = rest[:rest.rfind("(")].strip() if "(" in rest else rest
        base = os.path.basename(dso)
        if "libmbedcrypto" in base:
            # Debian's library exports only its API: the static helpers of
            # the bignum and curve code show as [unknown].
            if "sha" in sym:
                what = "mbedtls sha"
            elif re.search(r"aes|gcm|cipher|chacha|poly|ccm|ctr_drbg", sym):
                what = "mbedtls symmetric (records, RNG)"
            else:
                what = "mbedtls public-key (mpi, ecp, ecdsa, ecdh)"
        elif "libmbedtls" in base or "libmbedx509" in base:
            what = "mbedtls tls/x509 (handshake logic, records)"
        elif "libcrypto" in base:
            what = "openssl libcrypto (entry signatures)"
        elif "sqlite" in base:
            what = "sqlite"
        elif "kernel" in base or dso.startswith("[k"):
            what = "kernel"
        elif base.startswith("libc.") or base.startswith("ld-"):
            what = "libc"
        elif base == "patrold":
            what = "patrold"
        else:
            what = base or "?"
        thread = "loop" if tid == pid else "other threads"
        cats.setdefault(thread, {}).setdefault(what, 0)
        cats[thread][what] += 1
        if thread == "loop":
            top[sym] = top.get(sym, 0) + 1
    cats["loop top symbols"] = dict(sorted(top.items(), key=lambda x: -x[1])[:12])
    return cats


def one_run(a, master, info, n, label, perf):
    rd = os.path.join(a.work_base, "run")
    if os.path.exists(rd):
        shutil.rmtree(rd)
    os.makedirs(rd)
    t_copy = time.monotonic()
    subprocess.run(["cp", "-a", os.path.join(master, "srv"), os.path.join(rd, "srv")], check=True)
    stores = [os.path.join(rd, "t%04d" % i) for i in range(n)]
    subprocess.run(["cp", "-a"] + [os.path.join(master, "t%04d" % i) for i in range(n)] + [rd],
                   check=True)
    copy_s = time.monotonic() - t_copy
    log = os.path.join(rd, "patrold.log")
    conf = os.path.join(rd, "shift.conf")
    limits = write_conf(conf, info["port"], log, n, True)
    srv = subprocess.Popen([a.patrold, "--data", os.path.join(rd, "srv"), "serve", "--config",
                            conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(rd, "patrold.stderr"), "w"))
    terms = []
    perf_proc = None
    try:
        wait_listening(log, srv)
        if perf:  # attached before the terminals start: it is surely sampling at the go
            perf_proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499",
                                          "-p", str(srv.pid), "-o",
                                          os.path.join(rd, "perf.data")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        go_r, go_w = os.pipe()
        ready_r, ready_w = os.pipe()
        for i, s in enumerate(stores):
            out = open(os.path.join(rd, "term%04d.json" % i), "w")
            err = open(os.path.join(rd, "term%04d.err" % i), "w")
            terms.append(subprocess.Popen(["nice", "-n", str(a.term_nice), a.term, "sync",
                                           "--store", s, "--ready-fd", str(ready_w)],
                                          stdin=go_r, stdout=out, stderr=err,
                                          pass_fds=(ready_w,)))
            out.close()
            err.close()
        os.close(go_r)
        os.close(ready_w)
        got = 0
        end = time.monotonic() + 300
        while got < n and time.monotonic() < end:
            b = os.read(ready_r, 4096)
            if not b:
                break
            got += len(b)
        os.close(ready_r)
        if got < n:
            die("only %d of %d terminals got ready" % (got, n))
        m0 = metrics(info["port"])
        cpu0 = proc_cpu_s(srv.pid)
        # patrold's loop thread is its main thread (main.c calls srv_run):
        # it accepts and runs every TLS handshake.
        loop0 = proc_cpu_s(srv.pid, srv.pid)
        load = open("/proc/loadavg").read().split()[:3]
        t0 = time.monotonic_ns()
        os.close(go_w)  # go
        term_cpu = []  # each terminal's own CPU (wait4): on a station, its device's
        for t in terms:
            _pid, status, ru = os.wait4(t.pid, 0)
            t.returncode = os.waitstatus_to_exitcode(status)
            term_cpu.append(ru.ru_utime + ru.ru_stime)
        t_end = time.monotonic_ns()
        cpu1 = proc_cpu_s(srv.pid)
        loop1 = proc_cpu_s(srv.pid, srv.pid)
        hwm = proc_hwm_mib(srv.pid)
        if perf_proc:
            perf_proc.send_signal(signal.SIGINT)
            perf_proc.wait(60)
        m1 = metrics(info["port"])
    finally:
        for t in terms:
            if t.poll() is None:
                t.kill()
                t.wait()
        if perf_proc and perf_proc.poll() is None:
            perf_proc.kill()
            perf_proc.wait()
        stop(srv)

    res = []
    for i in range(n):
        try:
            with open(os.path.join(rd, "term%04d.json" % i)) as f:
                res.append(json.loads(f.read()))
        except (OSError, ValueError):
            with open(os.path.join(rd, "term%04d.err" % i), errors="replace") as f:
                res.append({"rc": -1, "error": "no result; stderr: " + f.read()[-300:]})
    last = max((r["t1_ns"] for r in res if "t1_ns" in r), default=t_end)
    failed = [r for r in res if r["rc"] != 0 or r.get("acked") != r.get("head")]
    ack_term = [r["ack_ms"] for r in res if r.get("ack_ms", -1) >= 0]
    sync_term = [r["sync_ms"] for r in res if "sync_ms" in r]
    retries = sum(r.get("retries", 0) for r in res)
    # Acknowledged, not "accepted": a batch the server stored whose answer
    # the terminal did not get comes back as duplicates when it is sent again.
    accepted = sum(r.get("acked", 0) for r in res)

    lines = parse_log(log)
    batch_ms, ingest_ms, statuses, bad, paths = [], [], {}, [], {}
    refusals = {}
    for L in lines:
        ev = L.get("event")
        if ev == "batch":  # the handler's own time: verification, commit, receipt
            ingest_ms.append(float(L.get("ms", "0")))
        if ev == "access":
            st = int(L.get("status", "0"))
            statuses[st] = statuses.get(st, 0) + 1
            route = "%s %s" % (L.get("method"), L.get("path", "").split("?")[0])
            paths[route] = paths.get(route, 0) + 1
            if L.get("path", "").startswith("/v1/batches") and L.get("method") == "POST" \
                    and 200 <= st < 300:
                batch_ms.append(float(L.get("ms", "0")))
            # 304: reference data not modified; 503 busy and 429: back-pressure.
            if st >= 400 and st not in (503, 429):
                bad.append("%s %s %d" % (L.get("method"), L.get("path"), st))
        elif ev in ("refused", "request_refused", "connection_refused", "connection_dropped",
                    "handshake_failed", "connection_closed", "request_truncated",
                    "tls_error", "write_failed", "write_timeout"):
            key = "%s/%s" % (ev, L.get("code", "?"))
            refusals[key] = refusals.get(key, 0) + 1

    def d(k):
        return m1.get(k, 0) - m0.get(k, 0)
    full = d('patrold_handshakes_total{type="full"}')
    resumed = d('patrold_handshakes_total{type="resumed"}')
    hs_failed = d('patrold_handshakes_total{type="failed"}')
    fig = {
        "terminals": n, "label": label, "load": load,
        "total_s": (last - t0) / 1e9,
        "ack_p50_ms": pct(batch_ms, 0.5), "ack_p99_ms": pct(batch_ms, 0.99),
        "ack_max_ms": max(batch_ms) if batch_ms else None,
        "term_ack_p50_ms": pct(ack_term, 0.5), "term_ack_p99_ms": pct(ack_term, 0.99),
        "term_sync_p50_ms": pct(sync_term, 0.5), "term_sync_max_ms": max(sync_term or [0]),
        "batches": len(batch_ms), "entries_accepted": accepted,
        "ingest_p50_ms": pct(ingest_ms, 0.5), "ingest_p99_ms": pct(ingest_ms, 0.99),
        "requests": paths,
        "entries_per_s": accepted / ((last - t0) / 1e9),
        "failed": len(failed), "failures": [r.get("error", "")[:200] for r in failed[:5]],
        "retries": retries, "statuses": statuses, "bad_answers": bad[:10],
        "refusals": refusals,
        "server_cpu_s": cpu1 - cpu0, "server_cpu_share": (cpu1 - cpu0) / ((t_end - t0) / 1e9),
        "server_hwm_mib": hwm,
        "loop_cpu_s": loop1 - loop0, "loop_busy": (loop1 - loop0) / ((t_end - t0) / 1e9),
        "handshakes_full": full, "handshakes_resumed": resumed, "handshakes_failed": hs_failed,
        "resumed_share": resumed / (full + resumed) if full + resumed else 0.0,
        "connections": d("patrold_connections_total"), "limits": limits,
        "copy_s": copy_s,
        "term_cpu_s": sum(term_cpu), "term_cpu_p50_ms": 1000 * (pct(term_cpu, 0.5) or 0),
    }
    if perf:
        fig["perf"] = perf_split(os.path.join(rd, "perf.data"), srv.pid)
    if not a.keep:
        shutil.rmtree(rd)
    else:
        os.rename(rd, os.path.join(a.work_base, "run-%s" % label))
    return fig


def handshake_probe(a, master, info, k):
    """Server CPU per full mutual-TLS handshake, alone: k handshakes one
    after the other, each a new curl process presenting terminal 0's
    certificate and key (libcurl on OpenSSL, as the terminal) with one
    GET /healthz; patrold's loop thread's CPU (which runs every handshake)
    divided by the full handshakes /metrics counted."""
    rd = os.path.join(a.work_base, "probe")
    if os.path.exists(rd):
        shutil.rmtree(rd)
    os.makedirs(rd)
    subprocess.run(["cp", "-a", os.path.join(master, "srv"), os.path.join(rd, "srv")], check=True)
    log = os.path.join(rd, "patrold.log")
    conf = os.path.join(rd, "shift.conf")
    write_conf(conf, info["port"], log, 1, False)
    srv = subprocess.Popen([a.patrold, "--data", os.path.join(rd, "srv"), "serve", "--config",
                            conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    perf_proc = None
    try:
        wait_listening(log, srv)
        if a.perf:
            perf_proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499",
                                          "-p", str(srv.pid), "-o",
                                          os.path.join(rd, "perf.data")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
        m0 = metrics(info["port"])
        loop0 = proc_cpu_s(srv.pid, srv.pid)
        walls = curl_handshakes(master, info["port"], k, "/healthz")
        loop1 = proc_cpu_s(srv.pid, srv.pid)
        m1 = metrics(info["port"])
        if perf_proc:
            perf_proc.send_signal(signal.SIGINT)
            perf_proc.wait(60)
    finally:
        stop(srv)
    split = perf_split(os.path.join(rd, "perf.data"), srv.pid) if a.perf else None
    shutil.rmtree(rd)
    full = m1.get('patrold_handshakes_total{type="full"}', 0) - \
        m0.get('patrold_handshakes_total{type="full"}', 0)
    h = {"handshakes": k, "full": full, "loop_cpu_ms_each": (loop1 - loop0) * 1000 / k,
         "wall_p50_ms": pct(walls, 0.5), "wall_p99_ms": pct(walls, 0.99)}
    if split:
        h["perf"] = split
    h.update(openssl_probe(master, k))
    return h


def curl_handshakes(master, port, k, path):
    t0 = os.path.join(master, "t0000")
    walls = []
    for _ in range(k):
        out = run(["curl", "-sS", "-k", "--tlsv1.2", "--cert", os.path.join(t0, "client.crt"),
                   "--key", os.path.join(t0, "device.key"), "-o", "/dev/null", "-w",
                   "%{http_code} %{time_connect} %{time_appconnect}",
                   "https://127.0.0.1:%d%s" % (port, path)]).split()
        if out[0] != "200":
            die("handshake probe: GET %s answered %s" % (path, out[0]))
        walls.append((float(out[2]) - float(out[1])) * 1000)
    return walls


def openssl_probe(master, k):
    """The same k handshakes against OpenSSL's own server (openssl s_server,
    one thread) with patrold's certificate, key and device CA, the suite
    patrold picks (ECDHE-ECDSA-AES128-GCM-SHA256, P-256) and the client
    certificate required and verified: what the handshake would cost the
    loop thread on OpenSSL. Its CPU from /proc, as patrold's."""
    if not shutil.which("openssl"):
        return {"openssl": "not installed"}
    srv = os.path.join(master, "srv")
    port = free_port()
    ss = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert",
                           os.path.join(srv, "server.crt"), "-key",
                           os.path.join(srv, "server.key"), "-CAfile",
                           os.path.join(srv, "ca.crt"), "-Verify", "1", "-tls1_2", "-cipher",
                           "ECDHE-ECDSA-AES128-GCM-SHA256", "-groups", "P-256", "-no_ticket",
                           "-www", "-quiet"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > end or ss.poll() is not None:
                    die("openssl s_server did not start")
                time.sleep(0.05)
        c0 = proc_cpu_s(ss.pid)
        walls = curl_handshakes(master, port, k, "/")
        c1 = proc_cpu_s(ss.pid)
    finally:
        ss.kill()
        ss.wait()
    return {"openssl_cpu_ms_each": (c1 - c0) * 1000 / k, "openssl_wall_p50_ms": pct(walls, 0.5),
            "openssl_wall_p99_ms": pct(walls, 0.99)}


def fmt_ms(v):
    return "-" if v is None else "%.0f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", default="100:3,200:3,500:2")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--entries", type=int, default=300)
    ap.add_argument("--build")
    ap.add_argument("--work", default=os.environ.get("TMPDIR") or "/tmp")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--handshakes", type=int)
    ap.add_argument("--term-nice", type=int, default=19)
    a = ap.parse_args()
    # SIGTERM ends the run through the finally blocks: the terminals and
    # patrold started here are stopped by their pids.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 0 <= a.term_nice <= 19:
        die("--term-nice: 0..19")
    if a.quick:
        a.plan = "20:1"
    if a.handshakes is None:
        a.handshakes = 20 if a.quick else 200
    if not 0 <= a.handshakes <= 100000:
        die("--handshakes: 0..100000")
    try:
        plan = [(int(x.split(":")[0]), int(x.split(":")[1])) for x in a.plan.split(",")]
    except (ValueError, IndexError):
        die("--plan: N:RUNS[,N:RUNS...], e.g. 100:3,200:3")
    if any(n < 1 or n > 5000 or r < 1 or r > 50 for n, r in plan):
        die("--plan: 1..5000 terminals, 1..50 runs")
    if not 10 <= a.entries <= 5000:
        die("--entries: 10..5000")
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.abspath(a.build or os.path.join(here, "..", "..", "build-bench"))
    a.patrold = os.path.join(build, "server", "patrold")
    a.patrol = os.path.join(build, "client", "patrol")
    a.term = os.path.join(build, "bench", "shift", "shift_term")
    for x in (a.patrold, a.patrol, a.term):
        if not os.access(x, os.X_OK):
            die("%s is missing: build patrold, patrol_cli and shift_term in %s" % (x, build))
    nmax = max(n for n, _ in plan)
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The driver holds a few descriptors per terminal while they start;
    # patrold one per connection.
    if soft < 2 * nmax + 256:
        die("ulimit -n is %d: %d terminals need at least %d" % (soft, nmax, 2 * nmax + 256))
    a.work_base = os.path.join(os.path.abspath(a.work), "patrol-bench-shift")
    os.makedirs(a.work_base, exist_ok=True)
    # One master per entry count; it serves any plan up to its terminals.
    master = os.path.join(a.work_base, "master-%d" % a.entries)
    print("== shift change: plan %s, %d entries per terminal, no evidence; terminals at "
          "nice %d" % (a.plan, a.entries, a.term_nice))
    print("nproc %d; %s; ulimit -n %d; load before %s" % (
        os.cpu_count(), " ".join(os.uname()[2:3]), soft, open("/proc/loadavg").read().strip()))
    t = time.monotonic()
    info = prepare(a, master, nmax)
    print("master %s: %d terminals enrolled, %d entries each (%.0f signed bytes), port %d; "
          "ready in %.0f s" % (master, info["terminals"], info["entries"],
                               info["pending_bytes_per_terminal"], info["port"],
                               time.monotonic() - t))
    sys.stdout.flush()
    figs = {}
    for n, runs in plan:
        for r in range(runs):
            f = one_run(a, master, info, n, "%d-%d" % (n, r + 1), a.perf and n == nmax)
            figs.setdefault(n, []).append(f)
            if r == 0:
                print("N=%d: shift.conf [limits] %s" % (n, json.dumps(f["limits"])))
            print("N=%d run %d (load %s): total %.2f s, %.0f entries/s; ack p50/p99 %s/%s ms "
                  "(server, %d batches), terminal %s/%s ms; failed %d, retries %d, answers %s, "
                  "refusals %s; server CPU %.1f s (%.0f %%; loop thread %.2f s, busy %.0f %%), "
                  "VmHWM %.1f MiB; handshakes %d full, %d resumed, %d failed" % (
                      n, r + 1, "/".join(f["load"]), f["total_s"], f["entries_per_s"],
                      fmt_ms(f["ack_p50_ms"]), fmt_ms(f["ack_p99_ms"]), f["batches"],
                      fmt_ms(f["term_ack_p50_ms"]), fmt_ms(f["term_ack_p99_ms"]), f["failed"],
                      f["retries"], json.dumps(f["statuses"]), json.dumps(f["refusals"]),
                      f["server_cpu_s"], 100 * f["server_cpu_share"], f["loop_cpu_s"],
                      100 * f["loop_busy"], f["server_hwm_mib"],
                      f["handshakes_full"], f["handshakes_resumed"], f["handshakes_failed"]))
            print("  batch handler p50/p99 %s/%s ms; requests %s; terminals' CPU %.1f s "
                  "(p50 %.0f ms each)" % (
                      fmt_ms(f["ingest_p50_ms"]), fmt_ms(f["ingest_p99_ms"]),
                      json.dumps(f["requests"]), f["term_cpu_s"], f["term_cpu_p50_ms"]))
            for e in f["failures"]:
                print("  failed: " + e)
            for e in f["bad_answers"]:
                print("  answer: " + e)
            if "perf" in f:
                print("  perf (samples at 499 Hz): " + json.dumps(f["perf"], ensure_ascii=False))
            sys.stdout.flush()

    if a.handshakes > 0:
        h = handshake_probe(a, master, info, a.handshakes)
        print("\n== handshake probe: %d full mutual-TLS handshakes one after the other (curl, "
              "terminal 0's certificate): patrold's loop thread %.2f ms of CPU each (/metrics: "
              "%d full); handshake wall time p50 %.1f ms, p99 %.1f ms; the same against "
              "openssl s_server: %.2f ms of CPU each, wall p50 %.1f ms (load %s)" % (
                  h["handshakes"], h["loop_cpu_ms_each"], h["full"], h["wall_p50_ms"],
                  h["wall_p99_ms"], h.get("openssl_cpu_ms_each", -1),
                  h.get("openssl_wall_p50_ms", -1), open("/proc/loadavg").read().split()[0]))
        print(json.dumps(dict(h, bench="shift_handshake")))

    print("\n== summary (median, min-max over the runs)")
    for n, fl in figs.items():
        def mm(k):
            v = [x[k] for x in fl if x[k] is not None]
            return (statistics.median(v), min(v), max(v)) if v else (None, None, None)
        out = {"bench": "shift", "terminals": n, "runs": len(fl), "entries": a.entries}
        for k in ("total_s", "entries_per_s", "ack_p50_ms", "ack_p99_ms", "term_ack_p50_ms",
                  "term_ack_p99_ms", "server_cpu_s", "loop_cpu_s", "loop_busy", "server_hwm_mib",
                  "resumed_share"):
            med, lo, hi = mm(k)
            out[k] = [med, lo, hi]
        out["failed"] = sum(x["failed"] for x in fl)
        out["retries"] = sum(x["retries"] for x in fl)
        out["handshakes_full"] = sum(x["handshakes_full"] for x in fl)
        out["handshakes_resumed"] = sum(x["handshakes_resumed"] for x in fl)
        print("N=%d (%d runs): total %.2f s (%.2f-%.2f); ack p50 %s ms, p99 %s ms (%s-%s); "
              "terminal ack p99 %s ms; failed %d; server CPU %.1f s, VmHWM %.1f MiB; "
              "resumed %d of %d handshakes" % (
                  n, len(fl), *out["total_s"], fmt_ms(out["ack_p50_ms"][0]),
                  fmt_ms(out["ack_p99_ms"][0]), fmt_ms(out["ack_p99_ms"][1]),
                  fmt_ms(out["ack_p99_ms"][2]), fmt_ms(out["term_ack_p99_ms"][0]),
                  out["failed"], out["server_cpu_s"][0], out["server_hwm_mib"][0],
                  out["handshakes_resumed"], out["handshakes_full"] + out["handshakes_resumed"]))
        print(json.dumps(out))
    print("load after: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
