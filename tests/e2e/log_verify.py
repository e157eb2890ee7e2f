#!/usr/bin/env python3
"""log_verify.py -- check patrold's server log from outside (docs/log.md),
with tests/tlog_ref.py's independent RFC 6962 / RFC 9162 code (hashlib).

  log_verify.py root NOTE LEAVES           LEAVES: lines "INDEX HEXDATA" (sqlite3 -separator ' ');
                                           the root of the first SIZE leaves must be NOTE's
  log_verify.py split NOTE TEXT SIGDER     the signed text and the DER signature, for openssl
  log_verify.py inclusion NOTE BODY        a /v1/log/proof/inclusion body against NOTE's root
  log_verify.py consistency OLD NEW BODY   a /v1/log/proof/consistency body between two notes
  log_verify.py ack ACK DEVHEX SEQ HASHHEX an Ack (protobuf): its checkpoint, and the inclusion
                                           of entry (device, seq, hash)'s leaf in it
Exit 0 when the check holds, 1 (with a sentence) when it does not.
"""
import base64
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tlog_ref as t  # noqa: E402


def die(msg):
    print("log_verify: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_note(text):
    if "\n\n" not in text:
        die("no signature line")
    body, sigs = text.split("\n\n", 1)
    lines = body.split("\n")
    if len(lines) != 3:
        die("checkpoint text has %d lines" % len(lines))
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        die("root is not 32 bytes")
    sig_lines = [s for s in sigs.split("\n") if s]
    return {"origin": origin, "size": size, "root": root, "text": body + "\n", "sigs": sig_lines}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def proof_body(path, keys):
    lines = read(path).decode().split("\n")
    if lines[-1] != "":
        die("body does not end with a newline")
    lines = lines[:-1]
    vals = {}
    for k in keys:
        name, _, v = lines.pop(0).partition(" ")
        if name != k:
            die("expected '%s', got '%s'" % (k, name))
        vals[k] = v
    return vals, [base64.b64decode(x, validate=True) for x in lines]


def pb_fields(buf):
    """The fields of a protobuf message: {number: [values]} (varint or bytes)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            val = varint()
        elif wt == 2:
            n = varint()
            val = buf[i:i + n]
            i += n
        elif wt == 1:
            val = buf[i:i + 8]
            i += 8
        elif wt == 5:
            val = buf[i:i + 4]
            i += 4
        else:
            die("bad wire type %d" % wt)
        out.setdefault(num, []).append(val)
    return out


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "root":
        note = parse_note(read(args[0]).decode())
        leaves = {}
        for line in read(args[1]).decode().split("\n"):
            if line:
                idx, hx = line.split(" ")
                leaves[int(idx)] = bytes.fromhex(hx)
        ds = [leaves[i] for i in range(note["size"])]
        got = t.mth(ds)
        if got != note["root"]:
            die("the %d leaves give root %s, the checkpoint says %s"
                % (note["size"], got.hex(), note["root"].hex()))
        print(note["size"])
    elif cmd == "split":
        note = parse_note(read(args[0]).decode())
        prefix = "\u2014 " + note["origin"] + " "
        mine = [s for s in note["sigs"] if s.startswith(prefix)]
        if len(mine) != 1:
            die("expected one signature line named %s" % note["origin"])
        blob = base64.b64decode(mine[0][len(prefix):], validate=True)
        with open(args[1], "wb") as f:
            f.write(note["text"].encode())
        with open(args[2], "wb") as f:
            f.write(blob[4:])
        print(blob[:4].hex())
    elif cmd == "inclusion":
        note = parse_note(read(args[0]).decode())
        vals, hs = proof_body(args[1], ["index", "size", "leaf"])
        i, n = int(vals["index"]), int(vals["size"])
        leaf = base64.b64decode(vals["leaf"], validate=True)
        if n != note["size"]:
            die("proof for size %d, checkpoint of %d" % (n, note["size"]))
        if not t.verify_inclusion(i, n, t.h_leaf(leaf), hs, note["root"]):
            die("inclusion proof of leaf %d in %d does not verify" % (i, n))
        sys.stdout.write(leaf.decode())
    elif cmd == "consistency":
        old = parse_note(read(args[0]).decode())
        new = parse_note(read(args[1]).decode())
        vals, hs = proof_body(args[2], ["from", "to"])
        a, b = int(vals["from"]), int(vals["to"])
        if (a, b) != (old["size"], new["size"]):
            die("proof %d..%d, checkpoints %d..%d" % (a, b, old["size"], new["size"]))
        if not t.verify_consistency(a, b, old["root"], new["root"], hs):
            die("consistency proof %d..%d does not verify" % (a, b))
        print("%d %d %d" % (a, b, len(hs)))
    elif cmd == "ack":
        f = pb_fields(read(args[0]))
        if 6 not in f or 7 not in f:
            die("the Ack has no checkpoint or leaf")
        note = parse_note(f[6][0].decode())
        leaf_no = f[7][0]
        hs = f.get(8, [])
        leaf = ("patrol-entry\n%s\n%d\n%s\n" % (args[1], int(args[2]), args[3])).encode()
        if leaf_no == 0:
            die("the Ack names no leaf")
        if not t.verify_inclusion(leaf_no - 1, note["size"], t.h_leaf(leaf), hs, note["root"]):
            die("the Ack's inclusion proof of leaf %d does not verify" % (leaf_no - 1))
        with open(args[4], "w") as out:
            out.write(f[6][0].decode())
        print("%d %d" % (leaf_no - 1, note["size"]))
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main()
