#!/usr/bin/env python3
"""cutproxy.py -- a TCP proxy on 127.0.0.1 that drops links on purpose, for
the resume tests (tests/e2e/test_resume.sh). Standard library only.

    cutproxy.py --target 127.0.0.1:PORT --port-file FILE --control FILE --log FILE

Listens on 127.0.0.1:0 and writes the port it got to --port-file. Every
new connection takes the first rule from --control (a file of
whitespace-separated rules, rewritten without the rule taken; a missing or
empty file means "pass"):

    pass or -   forward everything
    N           close both sides once N bytes went upstream (client to server)
    aN          the same, counting only TLS application-data records (type 23,
                header included), so N is "about N bytes into the HTTP
                requests" whatever the handshake took
    rN          once N application-data bytes went upstream, close both sides
                at the first application data the server sends back: the
                server has handled the request, the client never sees the
                answer

The proxy never decrypts anything. Each connection appends one line to
--log when it ends:

    conn=3 rule=a5000 up=6012 up_app=5000 down=4410 cut=1

and the line "total up=... down=..." is not kept: the test sums the lines.
"""
import argparse
import os
import select
import socket
import sys
import threading

APP_DATA = 23


class RecordCounter:
    """Follows TLS record framing in one direction (no decryption) and tells
    how many of the next bytes may pass before `limit` application-data
    bytes (header + payload of type-23 records) have gone through."""

    def __init__(self):
        self.hdr = b""
        self.left = 0       # payload bytes left in the current record
        self.rtype = None
        self.app = 0        # application-data bytes seen (headers included)

    def feed(self, data, limit=None):
        """Consume data; return how many bytes of it may be forwarded
        (all of it, or fewer when `limit` app bytes are reached)."""
        i, n = 0, len(data)
        while i < n:
            if self.left == 0 and len(self.hdr) < 5:
                take = min(5 - len(self.hdr), n - i)
                chunk = data[i:i + take]
                rtype = chunk[0] if not self.hdr else self.hdr[0]
                if rtype == APP_DATA and limit is not None and self.app + take >= limit:
                    take = limit - self.app
                    self.app += take
                    return i + take
                self.hdr += chunk
                if rtype == APP_DATA:
                    self.app += take
                i += take
                if len(self.hdr) == 5:
                    self.rtype = self.hdr[0]
                    self.left = (self.hdr[3] << 8) | self.hdr[4]
                    self.hdr = b""
                continue
            take = min(self.left, n - i)
            if self.rtype == APP_DATA and limit is not None and self.app + take >= limit:
                take = limit - self.app
                self.app += take
                return i + take
            if self.rtype == APP_DATA:
                self.app += take
            self.left -= take
            i += take
        return n


class Proxy:
    def __init__(self, args):
        self.target = args.target.rsplit(":", 1)
        self.control = args.control
        self.log = args.log
        self.lock = threading.Lock()
        self.count = 0

    def next_rule(self):
        with self.lock:
            self.count += 1
            n = self.count
            try:
                with open(self.control) as f:
                    rules = f.read().split()
            except FileNotFoundError:
                rules = []
            rule = rules.pop(0) if rules else "pass"
            if rules or os.path.exists(self.control):
                tmp = self.control + ".tmp"
                with open(tmp, "w") as f:
                    f.write(" ".join(rules) + ("\n" if rules else ""))
                os.replace(tmp, self.control)
            return n, rule

    def write_log(self, line):
        with self.lock:
            with open(self.log, "a") as f:
                f.write(line + "\n")

    def serve_one(self, client):
        n, rule = self.next_rule()
        mode, limit = "pass", None
        if rule not in ("pass", "-"):
            if rule[0] in "ar":
                mode, limit = rule[0], int(rule[1:])
            else:
                mode, limit = "raw", int(rule)
        up = down = 0
        cut = 0
        upc, downc = RecordCounter(), RecordCounter()
        try:
            server = socket.create_connection((self.target[0], int(self.target[1])), timeout=10)
        except OSError as e:
            self.write_log("conn=%d rule=%s error=%s" % (n, rule, e))
            client.close()
            return
        server.settimeout(None)
        client.settimeout(None)
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks = [client, server]
        try:
            while socks:
                r, _, _ = select.select(socks, [], [], 60)
                if not r:
                    break  # idle for a minute: give up on this link
                done = False
                for s in r:
                    data = s.recv(262144)
                    if s is client:
                        if not data:
                            done = True
                            break
                        allow = len(data)
                        if mode == "raw":
                            allow = min(allow, max(0, limit - up))
                        elif mode == "a":
                            allow = upc.feed(data, limit)
                        else:
                            upc.feed(data)
                        if allow:
                            server.sendall(data[:allow])
                            up += allow
                        if allow < len(data) or (mode == "raw" and up >= limit) or \
                                (mode == "a" and upc.app >= limit):
                            cut = 1
                            done = True
                            break
                    else:
                        if not data:
                            done = True
                            break
                        before = downc.app
                        downc.feed(data)
                        if mode == "r" and upc.app >= limit and downc.app > before:
                            cut = 1
                            done = True
                            break
                        client.sendall(data)
                        down += len(data)
                if done:
                    break
        except OSError:
            pass
        finally:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.write_log("conn=%d rule=%s up=%d up_app=%d down=%d cut=%d"
                           % (n, rule, up, upc.app, down, cut))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--log", required=True)
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
