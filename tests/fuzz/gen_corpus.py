#!/usr/bin/env python3
"""gen_corpus.py -- writes the seed inputs of tests/fuzz/corpus_batch from a
terminal's journal (entries as the patrol tool records them).

    python3 tests/fuzz/gen_corpus.py STORE_DIR tests/fuzz/corpus_batch

STORE_DIR is a store the patrol tool made (patrol init, inspector add,
subject add, matter open, consent, evidence add ...): its journal table
gives real entry bytes and signatures. The harness (fuzz_batch.c) rewrites
the device id, the chain and the signatures as its first byte says, so the
seeds need not come from the fuzzer's own device. Protobuf is written by
hand (standard library only): Batch {1 protocol, 2 batch_id, 3 device,
4 repeated SignedEntry {1 entry, 2 sig}}.
"""
import os
import sqlite3
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def batch(entries, batch_id=b"\x01" * 16, device=b"\x00" * 32, protocol=1):
    out = field_varint(1, protocol) + field_bytes(2, batch_id) + field_bytes(3, device)
    for e, s in entries:
        out += field_bytes(4, field_bytes(1, e) + field_bytes(2, s))
    return out


def main():
    store, outdir = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(os.path.join(store, "patrol.db"))
    rows = db.execute("SELECT entry, sig FROM journal ORDER BY seq").fetchall()
    rows = [(bytes(e), bytes(s)) for e, s in rows]
    seeds = {
        "ok_all": b"\x00" + batch(rows),
        "ok_first3": b"\x00" + batch(rows[:3]),
        "ok_one": b"\x00" + batch(rows[:1]),
        "ok_empty": b"\x00" + batch([]),
        "unsigned_all": b"\x10" + batch(rows),
        "foreign_device": b"\x02" + batch(rows[:2]),
        "gap": b"\x04" + batch(rows[3:]),
        "kept_bytes": b"\x08" + batch(rows[:2]),
        "dup_entry": b"\x00" + batch(rows[:2] + rows[1:2]),
        "bad_protocol": b"\x00" + batch(rows[:1], protocol=2),
        "bad_batch_id": b"\x00" + batch(rows[:1], batch_id=b"\x01" * 15),
        "raw_not_frame": b"\x01" + batch(rows[:1]),
        "raw_empty": b"\x01",
    }
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
