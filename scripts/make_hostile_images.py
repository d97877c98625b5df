#!/usr/bin/python3
"""Writes the image fixtures of the loader's robustness tests.

tests/data/formats/: one small valid picture per format and variant the loader
reads (JPEG baseline/progressive/gray/CMYK/EXIF-rotated, PNG interlaced and palette, BMP,
TGA raw and RLE, PNM, GIF, PSD, HDR).  The tests cut each one short at many
lengths: every cut must be refused or decode to exactly the full file's pixels.

tests/data/hostile/: crafted files, each named for what the loader must do:
  ok_*     decodes (legitimate but extreme, e.g. a 1-pixel-wide image);
  big_*    refused as too large (VGG_ERR_SHAPE);
  bad_*    refused as malformed (VGG_ERR_FORMAT).
The same files seed the fuzzers' corpora (tests/fuzz/corpus/image/).
Run with Debian's /usr/bin/python3 (python3-numpy, python3-pil)."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)


def png(w, h, rows, bits=8, color=0, level=9):
    ihdr = struct.pack(">IIBBBBB", w, h, bits, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, level)) +
            chunk(b"IEND", b""))


def tga(w, h, bpp=24, rle=False, data=b""):
    kind = (10 if bpp > 8 else 11) if rle else (2 if bpp > 8 else 3)
    return struct.pack("<BBBHHBHHHHBB", 0, 0, kind, 0, 0, 0, 0, 0, w, h, bpp, 0x20) + data


def photo(n=48):
    y, x = np.mgrid[0:n, 0:n]
    rgb = np.stack([(x * 5 + y * 2) % 256, (x * 3 + 128) % 256, (y * 4 + x) % 256], -1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def psd(img):
    """Raw (uncompressed) 3-channel 8-bit PSD."""
    a = np.asarray(img)
    h, w, _ = a.shape
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
    body = struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0)
    return head + body + b"".join(a[..., c].tobytes() for c in range(3))


def hdr(img):
    """Flat (not run-length) Radiance RGBE, exponent 136: the values 0..255 exactly."""
    a = np.asarray(img).astype(np.uint16)
    h, w, _ = a.shape
    px = np.concatenate([a // 2, np.full((h, w, 1), 136)], -1).astype(np.uint8)
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (h, w) + px.tobytes()


def exif_jpeg(img, orientation):
    """A JPEG whose EXIF orientation says to turn it (6: 90 degrees clockwise), as a phone writes it."""
    ex = Image.Exif()
    ex[0x0112] = orientation
    return pil_bytes(img.resize((48, 32)), "JPEG", quality=90, exif=ex.tobytes())


def formats():
    img = photo()
    gray = img.convert("L")
    return {
        "baseline.jpg": pil_bytes(img, "JPEG", quality=90),
        "progressive.jpg": pil_bytes(img, "JPEG", quality=90, progressive=True),
        "gray.jpg": pil_bytes(gray, "JPEG", quality=90),
        "cmyk.jpg": pil_bytes(img.convert("CMYK"), "JPEG", quality=95),
        "interlaced.png": pil_bytes(img, "PNG", interlace=1),
        "palette.png": pil_bytes(img.convert("P"), "PNG"),
        "rgb.bmp": pil_bytes(img, "BMP"),
        "raw.tga": pil_bytes(img, "TGA"),
        "rle.tga": pil_bytes(img, "TGA", compression="tga_rle"),
        "rgb.ppm": pil_bytes(img, "PPM"),
        "gray.pgm": pil_bytes(gray, "PPM"),
        "anim.gif": pil_bytes(img.convert("P"), "GIF"),
        "exif6.jpg": exif_jpeg(img, 6),
        "raw.psd": psd(img),
        "flat.hdr": hdr(img),
    }


def hostile():
    thin_rows = lambda w, h: b"".join(b"\x00" + bytes((i * 7 + j) % 256 for j in range(w)) for i in range(h))
    tall = 3_000_000
    files = {
        # A 1-pixel-wide image millions of pixels tall (and its transpose): legitimate, every resize mode works.
        "ok_tall_1x3000000.png": png(1, tall, b"\x00\x80" * tall),
        "ok_wide_3000000x1.png": png(tall, 1, b"\x00" + bytes(i % 251 for i in range(tall))),
        "ok_thin_2x40000.png": png(2, 40000, thin_rows(2, 40000)),
        # Headers far beyond the default pixel budget.
        "big_png_65535x65535.png": png(65535, 65535, b"\x00" * 16),
        "big_bmp_30000x30000.bmp": b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) +
        struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 0, 2835, 2835, 0, 0),
        # Claimed sizes the bytes cannot hold: zero-filled images in a naive loader.
        "bad_tga_raw_447x65317.tga": tga(447, 65317, 8) + b"\x00" * 10,
        "bad_tga_rle_19015x1714.tga": tga(19015, 1714, 24, rle=True, data=b"\xff\x10\x20\x30" * 35),
        "bad_bmp_truncated.bmp": pil_bytes(photo(64), "BMP")[:3000],
        "bad_ppm_short.ppm": b"P6\n4000 3000\n255\n" + b"\x7f" * 1000,
        "bad_png_truncated.png": pil_bytes(photo(64), "PNG")[:200],
        "bad_jpeg_truncated.jpg": pil_bytes(photo(64), "JPEG")[:600],
        "bad_jpeg_65000x65000.jpg": (lambda j: j[:j.index(b"\xff\xc0") + 5] + struct.pack(">HH", 65000, 65000) +
                                     j[j.index(b"\xff\xc0") + 9:])(pil_bytes(photo(16), "JPEG")),
        "bad_gif_8000x8000.gif": b"GIF89a" + struct.pack("<HHBBB", 8000, 8000, 0x80, 0, 0) + b"\x00" * 6 +
        b",\x00\x00\x00\x00\x10\x00\x10\x00\x00\x02\x02\x44\x01\x00;",
        "bad_psd_truncated.psd": psd(photo(40))[:2000],
        "bad_hdr_truncated.hdr": hdr(photo(40))[:3000],
        "bad_pic.pic": b"\x53\x80\xf6\x34" + b"\x00" * 100,
        # A DHT segment declaring more than 256 symbols, and a scan using a table never defined.
        "bad_jpeg_dht_overflow.jpg": b"\xff\xd8\xff\xc4\x00\x33\x00" + b"\xff" * 16 + b"\x00" * 30 + b"\xff\xd9",
        "bad_jpeg_undefined_table.jpg": (lambda j: j.replace(b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11",
                                                             b"\xff\xda\x00\x0c\x03\x01\x33\x02\x11\x03\x11"))(
            pil_bytes(photo(16), "JPEG")),
        "bad_empty_png_sig.png": b"\x89PNG\r\n\x1a\n",
        "bad_random.bin": bytes((i * 97 + 13) % 256 for i in range(300)),
    }
    return files


def main():
    for sub, files in (("formats", formats()), ("hostile", hostile())):
        d = os.path.join(ROOT, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print("wrote", os.path.join(ROOT, "formats"), "and", os.path.join(ROOT, "hostile"))


if __name__ == "__main__":
    main()
