#!/usr/bin/env python3
"""faultproxy.py -- a TCP proxy on 127.0.0.1 that injects network faults
chosen by a seeded random generator, for tests/e2e/test_faults.sh.
Standard library only; it never decrypts anything.

    faultproxy.py --target 127.0.0.1:PORT --port-file FILE --log FILE
                  --seed N [--rate P] [--control FILE] [--first K] [--max-hold S]

Listens on 127.0.0.1:0 and writes the port it got to --port-file. Each new
connection (numbered from 1) gets a plan from random.Random("SEED:n"), so a
run is repeatable from its seed (thread timing aside). With probability P
(--rate, default 0.5; always for the first K connections after faults are
switched on, --first) the plan is one fault, else "pass":

    latency D         every chunk waits D ms (10..120), both directions
    bandwidth B DIR   DIR (up: client to server, down: back) limited to
                      B bytes/s (16 KiB/s .. 256 KiB/s)
    reset N DIR       once N bytes went DIR, both sides get a TCP RST
    truncate N DIR    exactly N bytes go DIR, then both sides are closed
                      (FIN): the receiver sees a clean end mid-message
    stall N S DIR     after N bytes DIR, that direction stops for S seconds
                      (0.2 .. 2.0), then goes on
    halfopen N DIR    after N bytes DIR, nothing more is forwarded either
                      way, the server side is closed, and the client side
                      is held open without a FIN or RST until the client
                      gives up (at most --max-hold seconds, default 60)

N is drawn from 0..24000 up (requests: batches, evidence chunks) and
0..6000 down (answers); for the first K connections from 0..1500 up and
0..400 down (within the TLS handshake or the first request), so that
those faults fire. --control FILE: "off" in it turns faults off for
new connections (everything passes), "on [WORD]" (or no file) turns them
on; switching on, or a new WORD, restarts the --first count. Each connection appends one line
to --log when it ends:

    conn=3 fault=reset n=5210 dir=up up=5210 down=1804 fired=1

fired=1 when the fault happened (a reset after N bytes fires only if N
bytes went that way).
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import threading
import time

CHUNK = 16384


class Plan:
    def __init__(self, kind="pass", n=0, direction="up", value=0.0):
        self.kind, self.n, self.dir, self.value = kind, n, direction, value

    def describe(self):
        if self.kind == "pass":
            return "fault=pass"
        if self.kind == "latency":
            return "fault=latency ms=%d" % self.value
        if self.kind == "bandwidth":
            return "fault=bandwidth bps=%d dir=%s" % (self.value, self.dir)
        if self.kind == "stall":
            return "fault=stall n=%d s=%.1f dir=%s" % (self.n, self.value, self.dir)
        return "fault=%s n=%d dir=%s" % (self.kind, self.n, self.dir)


def choose(seed, n, forced, rate):
    r = random.Random("%s:%d" % (seed, n))
    if not forced and r.random() >= rate:
        return Plan()
    kind = r.choice(["latency", "bandwidth", "reset", "truncate", "stall", "halfopen"])
    d = r.choice(["up", "down"])
    # A forced fault fires early (handshake or first request), so that it
    # fires at all: a sync may need only a few kilobytes.
    if forced:
        cut = r.randint(0, 1500) if d == "up" else r.randint(0, 400)
    else:
        cut = r.randint(0, 24000) if d == "up" else r.randint(0, 6000)
    if kind == "latency":
        return Plan("latency", value=r.randint(10, 120))
    if kind == "bandwidth":
        return Plan("bandwidth", direction=d, value=r.randint(16384, 262144))
    if kind == "stall":
        return Plan("stall", cut, d, round(r.uniform(0.2, 2.0), 1))
    return Plan(kind, cut, d)


def rst_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


class Link:
    """One client connection and its upstream, with one pump thread per
    direction so that delays in one do not hold the other."""

    def __init__(self, proxy, n, plan, client, server):
        self.proxy, self.n, self.plan = proxy, n, plan
        self.client, self.server = client, server
        self.count = {"up": 0, "down": 0}
        self.fired = 0
        self.ending = threading.Event()
        self.lock = threading.Lock()
        self.closed = False

    def close_both(self, how):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.ending.set()
        for s in (self.client, self.server):
            if how == "rst":
                rst_close(s)
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def hold_half_open(self):
        """Server side closed; the client side kept open, silent, until the
        client closes it or max_hold passes."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.ending.set()
        rst_close(self.server)
        deadline = time.monotonic() + self.proxy.max_hold
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([self.client], [], [], 0.5)
                if r and not self.client.recv(CHUNK):
                    break  # the client gave up: it closed its side
        except OSError:
            pass
        self.client.close()

    def pump(self, direction):
        src, dst = (self.client, self.server) if direction == "up" else (self.server, self.client)
        p = self.plan
        try:
            while not self.ending.is_set():
                r, _, _ = select.select([src], [], [], 0.5)
                if not r:
                    continue
                data = src.recv(CHUNK)
                if not data:
                    # A clean end from one side: pass the FIN on.
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if p.kind == "latency":
                    time.sleep(p.value / 1000.0)
                if p.dir == direction and p.kind in ("reset", "truncate", "halfopen", "stall"):
                    before = self.count[direction]
                    if before + len(data) >= p.n and not self.fired:
                        head = data[:max(0, p.n - before)]
                        if head:
                            dst.sendall(head)
                            self.count[direction] += len(head)
                        self.fired = 1
                        if p.kind == "reset":
                            self.close_both("rst")
                            return
                        if p.kind == "truncate":
                            self.close_both("fin")
                            return
                        if p.kind == "halfopen":
                            self.hold_half_open()
                            return
                        time.sleep(p.value)  # stall, then the rest
                        data = data[len(head):]
                if data:
                    dst.sendall(data)
                    self.count[direction] += len(data)
                    if p.kind == "bandwidth" and p.dir == direction:
                        self.fired = 1
                        time.sleep(len(data) / float(p.value))
        except OSError:
            self.close_both("fin")
            return

    def run(self):
        for s in (self.client, self.server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.plan.kind == "latency":
            self.fired = 1
        t = threading.Thread(target=self.pump, args=("down",), daemon=True)
        t.start()
        self.pump("up")
        t.join()
        if not self.closed:
            self.close_both("fin")
        self.proxy.write_log("conn=%d %s up=%d down=%d fired=%d" % (
            self.n, self.plan.describe(), self.count["up"], self.count["down"], self.fired))


class Proxy:
    def __init__(self, args):
        host, port = args.target.rsplit(":", 1)
        self.target = (host, int(port))
        self.seed, self.rate, self.first = args.seed, args.rate, args.first
        self.control, self.log, self.max_hold = args.control, args.log, args.max_hold
        self.lock = threading.Lock()
        self.count = 0
        self.on_since = 0  # connection number when faults were last switched on
        self.was_on = None

    def control_text(self):
        if not self.control:
            return "on"
        try:
            with open(self.control) as f:
                return f.read().strip() or "on"
        except FileNotFoundError:
            return "on"

    def next_plan(self):
        with self.lock:
            self.count += 1
            n = self.count
            text = self.control_text()
            on = text.split()[0] != "off"
            if on and text != self.was_on:
                self.on_since = n  # switched on, or on with a new word: count --first again
            self.was_on = text
            if not on:
                return n, Plan()
            return n, choose(self.seed, n, n - self.on_since < self.first, self.rate)

    def write_log(self, line):
        with self.lock:
            with open(self.log, "a") as f:
                f.write(line + "\n")

    def serve_one(self, client):
        n, plan = self.next_plan()
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError as e:
            self.write_log("conn=%d error=%s" % (n, e))
            client.close()
            return
        server.settimeout(None)
        client.settimeout(None)
        Link(self, n, plan, client, server).run()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--rate", type=float, default=0.5)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--control")
    ap.add_argument("--max-hold", type=float, default=60.0)
    args = ap.parse_args()
    proxy = Proxy(args)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(tmp, args.port_file)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=proxy.serve_one, args=(c,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
