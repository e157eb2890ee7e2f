#!/usr/bin/env python3
"""The figures of bench/shaped/run.sh (docs/bench.md "Shaped link").

  summarize.py run --mode clean|cut --run N --rc RC --t0 S --t1 S --rate BITS
                   --dir RUN --master DIR
      one run's JSON line, from RUN/sync.json (patrol sync --json),
      RUN/proxy.json (shape_proxy's counters), RUN/srv.log (patrold's log
      with the access log on) and DIR/status.json, DIR/day.json (the store
      before the sync);
  summarize.py summary RESULTS.jsonl
      medians with min-max over the runs, and for each cut run, what was
      re-sent against the clean run of its pair.

Payload: what the terminal must deliver, the pending entries' signed
bytes plus the evidence files' bytes (patrol status --json: pending_bytes).
The physical limit is payload x 8 / rate: the time a link carrying
nothing but those bytes would take (TLS, HTTP, the receipts and the
reference pull are overhead, as is LZ4's gain on the entries a bonus).
Re-sent after cuts: the cut run's bytes up less the clean run's, each
less its own payload (the two stores of --together differ by a few bytes
of signatures), in bytes and in evidence chunks (the clean run's mean
PATCH body: evidence bytes / PATCH requests answered 2xx).
"""
import json
import re
import statistics
import sys


def arg(argv, name, default=None):
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            return argv[i + 1]
    if default is None:
        sys.exit("summarize.py: %s is needed" % name)
    return default


def load(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        if default is not None:
            return default
        sys.exit("summarize.py: %s: %s" % (path, e))


def run(argv):
    mode = arg(argv, "--mode")
    d = arg(argv, "--dir")
    m = arg(argv, "--master")
    rate = int(arg(argv, "--rate"))
    rc = int(arg(argv, "--rc"))
    secs = float(arg(argv, "--t1")) - float(arg(argv, "--t0"))
    sync = load(d + "/sync.json", {})
    px = load(d + "/proxy.json")
    status = load(m + "/status.json")
    day = load(m + "/day.json")
    patches = patch_2xx = heads = batches = 0
    patch_ms = []
    evidence = 0
    requests = 0
    sum_ms = 0
    with open(d + "/srv.log", encoding="utf-8", errors="replace") as f:
        for line in f:
            a = re.search(r"event=access .*method=(\S+) path=(\S+) status=(\d+).* ms=(\d+)", line)
            if a:
                method, path, status_code, ms = a.group(1), a.group(2), int(a.group(3)), int(a.group(4))
                requests += 1
                sum_ms += ms
                if method == "PATCH":
                    patches += 1
                    if 200 <= status_code < 300:
                        patch_2xx += 1
                        patch_ms.append(ms)
                elif method == "HEAD":
                    heads += 1
                elif method == "POST" and "batch" in path:
                    batches += 1
            e = re.search(r"event=evidence_complete .*bytes=(\d+)", line)
            if e:
                evidence += int(e.group(1))
    ok = (rc == 0 and sync.get("ok") is True and sync.get("acked_seq") == status["head_seq"]
          and sync.get("evidence_pending") == 0 and evidence == status["pending_evidence_bytes"])
    payload = status["pending_bytes"]
    limit = payload * 8 / rate
    out = {
        "mode": mode,
        "run": int(arg(argv, "--run")),
        "ok": ok,
        "rc": rc,
        "error": sync.get("error", ""),
        "seconds": round(secs, 2),
        "entries": status["pending_entries"],
        "entry_bytes": status["pending_entry_bytes"],
        "evidence_files": status["pending_evidence_files"],
        "evidence_bytes": status["pending_evidence_bytes"],
        "payload": payload,
        "limit_s": round(limit, 2),
        "ratio": round(secs / limit, 4),
        "wire_up": px["up"],
        "wire_down": px["down"],
        "dropped_up": px["dropped_up"],
        # Seconds of the link lost because the proxy ran late (absent: an
        # older proxy that did not count them).
        "proxy_late_s": (round(px["lost_up_s"] + px["lost_down_s"], 3)
                         if "lost_up_s" in px else None),
        "conns": px["conns"],
        "cuts": px["cuts"],
        "patches": patches,
        "patches_2xx": patch_2xx,
        "heads": heads,
        "chunk_mean": round(evidence / patch_2xx) if patch_2xx else 0,
        # The largest answered request the link saw (TLS records): the
        # terminal's full chunk at this rate; the bursts cuts broke off.
        "chunk_max": max(px.get("big_requests") or [0]),
        "chunk_median": statistics.median(px.get("big_requests") or [0]),
        "lost_burst": px.get("lost_burst", 0),
        "cut_bursts": px.get("cut_bursts", []),
        "patch_ms_median": statistics.median(patch_ms) if patch_ms else 0,
        "retries": sync.get("retries", -1),
        "sync_bytes_sent": sync.get("bytes_sent", -1),
        "server_evidence_bytes": evidence,
        "day_entries": day.get("entries"),
    }
    # Where the time beyond the limit went (estimates): the bytes beyond
    # the payload (TLS, HTTP, receipts; less LZ4's gain on the entries);
    # a round trip per request answered; the server's time on requests
    # beyond receiving their bytes (write, fsync, hash, sign: sum of the
    # access log's ms less the wire time up); the proxy's lateness; the
    # rest (process start, TLS handshakes, the terminal's own gaps, and
    # for cut runs the requests broken off).
    rtt = 2 * px.get("delay_ms", 0) / 1000
    wire_s = (px["up"] + px["down"]) * 8 / rate
    out["over_framing_s"] = round((px["up"] + px["down"] - payload) * 8 / rate, 2)
    out["requests"] = requests
    out["over_rtt_s"] = round(requests * rtt, 2)
    out["over_server_s"] = round(sum_ms / 1000 - px["up"] * 8 / rate, 2)
    # The proxy's own count of who was thinking, where it has one.
    out["server_think_s"] = px.get("server_think_s")
    out["client_think_s"] = px.get("client_think_s")
    late = out["proxy_late_s"] or 0
    out["over_rest_s"] = round(secs - wire_s - out["over_rtt_s"] - out["over_server_s"] - late, 2)
    print(json.dumps(out, separators=(",", ":")))
    if not ok:
        sys.stderr.write("summarize.py: the %s run did not sync everything: rc %d, %s\n"
                         % (mode, rc, sync.get("error", "")))
        return 1
    return 0


def spread(xs, fmt="%.2f"):
    if not xs:
        return "-"
    med = statistics.median(xs)
    if len(xs) == 1:
        return fmt % med
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med, min(xs), max(xs))


def summary(argv):
    rows = []
    with open(argv[0], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    clean = [r for r in rows if r["mode"] == "clean"]
    cut = [r for r in rows if r["mode"] == "cut"]
    for name, rs in (("clean", clean), ("cut", cut)):
        if not rs:
            continue
        print("%s: %d run(s), payload %s bytes, limit %s s" %
              (name, len(rs), spread([r["payload"] for r in rs], "%d"),
               spread([r["limit_s"] for r in rs])))
        print("  time %s s, x limit %s (target <= 1.10), wire up %s, down %s bytes" %
              (spread([r["seconds"] for r in rs]), spread([r["ratio"] for r in rs], "%.3f"),
               spread([r["wire_up"] for r in rs], "%d"), spread([r["wire_down"] for r in rs], "%d")))
        if name == "clean":
            # (For a cut run these estimates mix in what the cuts threw away.)
            print("  beyond the limit: bytes beyond the payload %s s, a round trip per request "
                  "(%s requests) %s s, server time per request beyond its bytes %s s, the rest %s s" %
                  (spread([r.get("over_framing_s", 0) for r in rs]),
                   spread([r.get("requests", 0) for r in rs], "%d"),
                   spread([r.get("over_rtt_s", 0) for r in rs]),
                   spread([r.get("over_server_s", 0) for r in rs]),
                   spread([r.get("over_rest_s", 0) for r in rs])))
        think = [r for r in rs if r.get("server_think_s") is not None]
        if think:
            print("  measured by the proxy: the server thinking %s s, the terminal thinking %s s "
                  "(between requests, the link idle)" %
                  (spread([r["server_think_s"] for r in think]),
                   spread([r["client_think_s"] for r in think])))
        print("  link time lost to a late proxy %s s" % spread([r.get("proxy_late_s") for r in rs
                                                                  if r.get("proxy_late_s") is not None], "%.3f"))
        print("  connections %s, cuts %s, PATCH %s (2xx %s), chunks on the link: largest %s, "
              "median %s bytes" %
              (spread([r["conns"] for r in rs], "%d"), spread([r["cuts"] for r in rs], "%d"),
               spread([r["patches"] for r in rs], "%d"), spread([r["patches_2xx"] for r in rs], "%d"),
               spread([r["chunk_max"] for r in rs], "%d"), spread([r["chunk_median"] for r in rs], "%d")))
    resent, per_cut, chunks_per_cut, lost_chunks, worst = [], [], [], [], []
    for c in cut:
        base = [r for r in clean if r["run"] == c["run"]]
        if not base:
            continue
        b = base[0]
        extra = (c["wire_up"] - c["payload"]) - (b["wire_up"] - b["payload"])
        resent.append(extra)
        chunk = b["chunk_max"] or c["chunk_max"]
        if c["cuts"] and chunk:
            per_cut.append(extra / c["cuts"])
            chunks_per_cut.append(extra / c["cuts"] / chunk)
            lost_chunks.append(c["lost_burst"] / c["cuts"] / chunk)
            worst.append(max(x[0] for x in c["cut_bursts"]) / chunk if c["cut_bursts"] else 0)
    if resent:
        print("cut runs against their clean run: re-sent %s bytes up (wire up less payload, "
              "less the clean run's), %s bytes a cut = %s chunks a cut (chunk: the clean run's "
              "largest); requests broken off by the cuts: %s chunks a cut on average, the worst "
              "cut %s chunks (target: at most 1)" %
              (spread(resent, "%d"), spread(per_cut, "%d"), spread(chunks_per_cut, "%.2f"),
               spread(lost_chunks, "%.2f"), spread(worst, "%.2f")))
    print(json.dumps({"bench": "shaped", "runs": rows}, separators=(",", ":")))
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("run", "summary"):
        sys.exit(__doc__)
    return run(argv[2:]) if argv[1] == "run" else summary(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
