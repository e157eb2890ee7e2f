#!/usr/bin/env python3
"""Make real media files for the demo and tests with the standard library
only: a PNG photo (a 640x480 gradient with noise) and a WAV recording
(3 s of speech-band tones), so evidence import handles genuine formats."""
import math, os, random, struct, sys, wave, zlib

def png(path, w=640, h=480, seed=1):
    rnd = random.Random(seed)
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            n = rnd.randrange(24)
            rows += bytes(((x * 255 // w + n) & 255, (y * 255 // h + n) & 255, (128 + n) & 255))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)

def wav(path, seconds=3, rate=16000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
        frames = bytearray()
        for i in range(seconds * rate):
            t = i / rate
            v = 0.3 * math.sin(2 * math.pi * 220 * t) + 0.2 * math.sin(2 * math.pi * 660 * t * (1 + 0.1 * math.sin(3 * t)))
            frames += struct.pack("<h", int(v * 32767))
        w.writeframes(bytes(frames))

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    png(os.path.join(out, "storefront.png"), seed=1)
    png(os.path.join(out, "corrected.png"), seed=2)
    wav(os.path.join(out, "interview.wav"))
