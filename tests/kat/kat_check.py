#!/usr/bin/env python3
"""kat_check.py -- checks tests/kat/vectors.json with an implementation
that shares nothing with the project's C code: its own protobuf encoder
(the wire format by hand, proto3 rules: fields in number order, defaults
left out, sint64 zigzag), hashlib for SHA-256, and the openssl command for
the keys and the signatures (`openssl dgst -sha256 -verify` on the DER
form, which is what `patrold audit export` hands to auditors).

    kat_check.py KAT_DIR

The two entries and the receipt are described here from docs/journal.md
and proto/patrol.proto, independently of tests/kat/test_kat.c, which
builds them from the same description in C; both must arrive at the bytes
in vectors.json. Exit 0 when every check passes, 1 otherwise (each failure
is printed).
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

FAILS = []


def check(desc, ok):
    print(("ok   " if ok else "FAIL ") + desc)
    if not ok:
        FAILS.append(desc)


def varint(n):
    assert n >= 0
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def f_varint(num, v):
    return b"" if v == 0 else varint(num << 3) + varint(v)


def f_bytes(num, b):
    return b"" if len(b) == 0 else varint(num << 3 | 2) + varint(len(b)) + b


def f_msg(num, b):
    # A sub-message that is present is written even when empty.
    return varint(num << 3 | 2) + varint(len(b)) + b


def f_str(num, s):
    return f_bytes(num, s.encode("utf-8"))


def field(name, value, conf=0):
    return f_str(1, name) + f_str(2, value) + f_varint(3, conf)


def location(lat_e7, lon_e7, acc):
    return f_varint(1, zigzag(lat_e7)) + f_varint(2, zigzag(lon_e7)) + f_varint(3, acc)


def entry(device, seq, prev, wall_ms, mono_ns, boot_id, loc, inspectors, kind, obj, fields,
          corrects=0):
    out = f_varint(1, 1) + f_bytes(2, device) + f_varint(3, seq) + f_bytes(4, prev)
    out += f_varint(5, wall_ms) + f_varint(6, mono_ns) + f_str(7, boot_id)
    if loc is not None:
        out += f_msg(8, location(*loc))
    for i in inspectors:
        out += f_str(9, i)
    out += f_str(10, kind) + f_str(11, obj)
    for f in sorted(fields, key=lambda f: f[0]):
        out += f_msg(12, field(*f))
    return out + f_varint(13, corrects)


def receipt_body(device, first, last, head, server_ms, name, batch_id):
    return (f_bytes(1, device) + f_varint(2, first) + f_varint(3, last) + f_bytes(4, head)
            + f_varint(5, server_ms) + f_str(6, name) + f_bytes(7, batch_id))


def der_int(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


def der_sig(rs):
    body = der_int(rs[:32]) + der_int(rs[32:])
    return b"\x30" + bytes([len(body)]) + body


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data, capture_output=True)


def verify(tmp, pub_pem, msg, der, desc):
    mpath, spath = os.path.join(tmp, "msg"), os.path.join(tmp, "sig.der")
    with open(mpath, "wb") as f:
        f.write(msg)
    with open(spath, "wb") as f:
        f.write(der)
    r = openssl("dgst", "-sha256", "-verify", pub_pem, "-signature", spath, mpath)
    check(desc + ": openssl dgst -sha256 -verify says Verified OK",
          r.returncode == 0 and b"Verified OK" in r.stdout)
    bad = bytearray(msg)
    bad[len(bad) // 2] ^= 1
    with open(mpath, "wb") as f:
        f.write(bytes(bad))
    r = openssl("dgst", "-sha256", "-verify", pub_pem, "-signature", spath, mpath)
    check(desc + ": openssl refuses it over a message with one bit flipped", r.returncode != 0)


def main():
    kat = sys.argv[1]
    with open(os.path.join(kat, "vectors.json"), encoding="utf-8") as f:
        v = json.load(f)
    tmp = tempfile.mkdtemp(prefix="patrol-kat-")
    try:
        keys = {}
        for who in ("device", "receipt"):
            r = openssl("pkey", "-in", os.path.join(kat, v[who + "_key"]), "-pubout",
                        "-outform", "DER")
            check(who + " key: openssl reads the private key", r.returncode == 0)
            keys[who] = r.stdout
            pem = os.path.join(tmp, who + ".pub.pem")
            r = openssl("pkey", "-in", os.path.join(kat, v[who + "_key"]), "-pubout", "-out", pem)
            check(who + " key: public PEM written", r.returncode == 0)
        check("device public key DER is the key's (openssl)",
              keys["device"].hex() == v["device_public_key_der"])
        check("receipt public key DER is the key's (openssl)",
              keys["receipt"].hex() == v["receipt_public_key_der"])
        device = hashlib.sha256(keys["device"]).digest()
        check("device id = SHA-256(public key DER)", device.hex() == v["device_id"])

        boot = "0b5e7b1c-2c1a-4c55-9d2e-6f4f1c3a9b10"
        wall, mono = 1795000000000, 123456789000
        e1 = entry(device, 1, bytes(32), wall, mono, boot, None, [], "device.init", "SY-CGJ",
                   [("department", "SY-CGJ"), ("device_name", "城管执法终端-01"),
                    ("public_key", keys["device"].hex()), ("software", "patrol kat")])
        h1 = hashlib.sha256(e1).digest()
        e2 = entry(device, 2, h1, wall + 60000, mono + 60000000000, boot,
                   (-337213000, -1186942000, 8), ["zhangwei", "liuna"], "inspector.add",
                   "wangfang", [("cert_no", "32132300121"), ("name", "王芳", 3)])
        h2 = hashlib.sha256(e2).digest()
        for i, (enc, h) in enumerate([(e1, h1), (e2, h2)]):
            ve = v["entries"][i]
            check("entry %d: encoding (independent protobuf encoder)" % (i + 1),
                  enc.hex() == ve["encoding"])
            check("entry %d: hash = SHA-256(encoding)" % (i + 1),
                  hashlib.sha256(bytes.fromhex(ve["encoding"])).hexdigest() == ve["hash"]
                  and h.hex() == ve["hash"])
            rs = bytes.fromhex(ve["signature"])
            check("entry %d: signature is r||s, 64 bytes" % (i + 1), len(rs) == 64)
            check("entry %d: DER form of r||s" % (i + 1), der_sig(rs).hex() == ve["signature_der"])
            verify(tmp, os.path.join(tmp, "device.pub.pem"), bytes.fromhex(ve["encoding"]),
                   der_sig(rs), "entry %d signature" % (i + 1))

        vr = v["receipt"]
        body = receipt_body(device, 1, 2, h2, 1795000123456, "泗阳县 patrold",
                            bytes(range(16)))
        check("receipt: ReceiptBody encoding (independent)", body.hex() == vr["body"])
        check("receipt: body hash", hashlib.sha256(body).hexdigest() == vr["body_hash"])
        rs = bytes.fromhex(vr["signature"])
        check("receipt: DER form of r||s", der_sig(rs).hex() == vr["signature_der"])
        verify(tmp, os.path.join(tmp, "receipt.pub.pem"), body, der_sig(rs), "receipt signature")
        # The device key did not sign the receipt.
        spath, mpath = os.path.join(tmp, "sig.der"), os.path.join(tmp, "msg")
        with open(spath, "wb") as f:
            f.write(der_sig(rs))
        with open(mpath, "wb") as f:
            f.write(body)
        r = openssl("dgst", "-sha256", "-verify", os.path.join(tmp, "device.pub.pem"),
                    "-signature", spath, mpath)
        check("receipt: the device key does not verify the receipt's signature", r.returncode != 0)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
