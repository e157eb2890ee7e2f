#!/usr/bin/env python3
"""tlog_ref.py -- an independent RFC 6962 implementation (hashlib only) that
checks proto/tlog.c: the tree heads, inclusion and consistency proofs that
`test_tlog --vectors` prints are recomputed here from the leaves and the
proofs are verified with RFC 9162's algorithms.

    tlog_ref.py TEST_TLOG     run the check (ctest: tlog_python)
    tlog_ref.py --kat         print the known-answer roots for test_tlog.c
"""
import hashlib
import json
import subprocess
import sys

N_MAX = 20


def leaf_data(i):
    # Leaf i is i bytes of value i (leaf 0 is empty): fixed, and the same in test_tlog.c.
    return bytes([i]) * i


def h_leaf(d):
    return hashlib.sha256(b"\x00" + d).digest()


def h_node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def k_of(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(ds):
    if not ds:
        return hashlib.sha256(b"").digest()
    if len(ds) == 1:
        return h_leaf(ds[0])
    k = k_of(len(ds))
    return h_node(mth(ds[:k]), mth(ds[k:]))


def path(m, ds):  # RFC 6962 2.1.1
    if len(ds) <= 1:
        return []
    k = k_of(len(ds))
    if m < k:
        return path(m, ds[:k]) + [mth(ds[k:])]
    return path(m - k, ds[k:]) + [mth(ds[:k])]


def subproof(m, ds, b):  # RFC 6962 2.1.2
    n = len(ds)
    if m == n:
        return [] if b else [mth(ds)]
    k = k_of(n)
    if m <= k:
        return subproof(m, ds[:k], b) + [mth(ds[k:])]
    return subproof(m - k, ds[k:], False) + [mth(ds[:k])]


def proof(m, ds):
    if m == 0 or m == len(ds):
        return []
    return subproof(m, ds, True)


def verify_inclusion(index, size, lh, p, root):  # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for x in p:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h_node(x, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = h_node(r, x)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, fh, sh, p):  # RFC 9162 2.1.4.2
    if first == second:
        return not p and fh == sh
    if first == 0:
        return not p
    if not p:
        return False
    p = list(p)
    if first & (first - 1) == 0:
        p = [fh] + p
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = p[0]
    for c in p[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h_node(c, fr)
            sr = h_node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = h_node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == fh and sr == sh


def main():
    ds = [leaf_data(i) for i in range(N_MAX)]
    if sys.argv[1:] == ["--kat"]:
        for n in range(N_MAX + 1):
            print('    "%s", /* %d */' % (mth(ds[:n]).hex(), n))
        return 0
    out = subprocess.run([sys.argv[1], "--vectors"], check=True, capture_output=True, text=True)
    bad = checked = 0

    def fail(msg):
        nonlocal bad
        bad += 1
        print("FAIL:", msg)

    for line in out.stdout.splitlines():
        v = json.loads(line)
        hs = [bytes.fromhex(x) for x in v.get("proof", [])]
        checked += 1
        if v["t"] == "root":
            if bytes.fromhex(v["root"]) != mth(ds[: v["n"]]):
                fail("root of %d" % v["n"])
        elif v["t"] == "inclusion":
            i, n = v["leaf"], v["size"]
            if hs != path(i, ds[:n]):
                fail("inclusion proof of %d in %d differs from RFC 6962 PATH" % (i, n))
            if not verify_inclusion(i, n, h_leaf(ds[i]), hs, mth(ds[:n])):
                fail("inclusion proof of %d in %d does not verify" % (i, n))
        elif v["t"] == "consistency":
            a, b = v["from"], v["to"]
            if hs != proof(a, ds[:b]):
                fail("consistency proof %d..%d differs from RFC 6962 PROOF" % (a, b))
            if not verify_consistency(a, b, mth(ds[:a]), mth(ds[:b]), hs):
                fail("consistency proof %d..%d does not verify" % (a, b))
        else:
            fail("unknown line " + line)
    # The checker itself must be able to fail: a wrong proof is refused.
    if verify_inclusion(1, 5, h_leaf(ds[2]), path(1, ds[:5]), mth(ds[:5])):
        fail("the Python verifier accepts a wrong leaf")
    if verify_consistency(3, 7, mth(ds[:3]), mth(ds[:6]), proof(3, ds[:7])):
        fail("the Python verifier accepts a wrong root")
    need = (N_MAX + 1) + sum(range(N_MAX + 1)) + sum(n + 1 for n in range(N_MAX + 1))
    if checked != need:
        fail("test_tlog --vectors printed %d vectors, expected %d" % (checked, need))
    print("%d vectors checked, %d failures" % (checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
