#!/usr/bin/python3
"""Writes the small image and .npy fixtures of tests/test_image.c into tests/data/img/.

Pixel (x, y) channel c holds (x*37 + y*11 + c*80) % 256 (8 bit) or
(x*9001 + y*333 + c*20000) % 65536 (16 bit); gray images use channel 0,
alpha channels hold 255 - value.  PNGs are encoded here (zlib) so every
colour type and bit depth is covered; JPEG and BMP come from Pillow.
Run with Debian's /usr/bin/python3 (python3-numpy, python3-pil)."""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "img")
N = 32  # square and >= 32, so the engine does not resize and values can be checked exactly


def pattern(bits, channels, n=N):
    y, x = np.mgrid[0:n, 0:n]
    planes = []
    for c in range(channels):
        if bits == 8:
            planes.append((x * 37 + y * 11 + c * 80) % 256)
        else:
            planes.append((x * 9001 + y * 333 + c * 20000) % 65536)
    return np.stack(planes, axis=-1)


def png(path, img, bits, color_type, size=None):
    h, w, c = img.shape
    dt = ">u2" if bits == 16 else "u1"
    raw = b"".join(b"\x00" + img[r].astype(dt).tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)

    W, H = size if size else (w, h)
    ihdr = struct.pack(">IIBBBBB", W, H, bits, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def npy(path, arr, descr="<f4", fortran=False, cut=0):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, fortran, "".join("%d, " % s for s in arr.shape))
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    data = arr.astype(descr).tobytes()
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + data[:len(data) - cut])


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda n: os.path.join(OUT, n)
    for bits in (8, 16):
        v = pattern(bits, 3)
        top = 255 if bits == 8 else 65535
        png(p("gray%d.png" % bits), v[..., :1], bits, 0)
        png(p("graya%d.png" % bits), np.concatenate([v[..., :1], top - v[..., :1]], -1), bits, 4)
        png(p("rgb%d.png" % bits), v, bits, 2)
        png(p("rgba%d.png" % bits), np.concatenate([v, top - v[..., :1]], -1), bits, 6)
    v8 = pattern(8, 3).astype(np.uint8)
    Image.fromarray(v8).save(p("rgb8.bmp"))
    # JPEG subsamples colour: a smooth gradient, (x*3 + y*2 + c*50), survives it.
    yy, xx = np.mgrid[0:N, 0:N]
    smooth = np.stack([xx * 3 + yy * 2 + c * 50 for c in range(3)], -1).astype(np.uint8)
    Image.fromarray(smooth).save(p("rgb8.jpg"), quality=95)
    big = pattern(8, 3, 40).astype(np.uint8)
    Image.fromarray(big[:33]).save(p("rgb8_40x33.png"))
    # Bad inputs.
    data = open(p("rgb8.png"), "rb").read()
    open(p("corrupt.png"), "wb").write(data[: len(data) // 2])
    open(p("empty.png"), "wb").close()
    png(p("huge.png"), v8[:1, :1], 8, 2, size=(100000, 100000))  # stb itself refuses this
    png(p("big.png"), v8[:1, :1], 8, 2, size=(12000, 12000))      # stb would try; the engine refuses
    open(p("notimage.txt"), "w").write("this is not an image\n")
    x = (np.arange(40 * 36 * 3, dtype=np.float32).reshape(40, 36, 3) - 2000) / 100
    npy(p("hwc.npy"), x)
    npy(p("nhwc.npy"), x[None])
    npy(p("bad_f8.npy"), x, descr="<f8")
    npy(p("bad_c4.npy"), np.zeros((40, 36, 4), np.float32))
    npy(p("bad_trunc.npy"), x, cut=4)
    npy(p("bad_fortran.npy"), x, fortran=True)
    print("wrote fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
