#!/usr/bin/python3
"""Opens report pages in headless Chromium over the DevTools protocol and checks them as a reader would see them.

    browser_check.py [--expect TEXT]... [--screenshot OUT.png] PAGE.html...

For each page: it loads from file:// with no console message of level error or warning, no exception and no
failed request; every <img> has decoded (naturalWidth > 0); each --expect text is in the rendered text; every
<img> has alt text and every <svg> an accessible name; a screenshot is not blank (more than a few colours, not
all one shade).  Exit 0 when all pass, 1 on a failure, 77 (skip) when no Chromium can be started.
Needs only the standard library and Debian's chromium.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

SKIP = 77


class WebSocket:
    """The client side of RFC 6455, enough for the DevTools protocol: text frames, masked, no extensions."""

    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError("websocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise OSError("websocket handshake refused: %r" % head[:200])
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                               if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise OSError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                raise OSError("websocket closed by the browser")
            if op in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class Page:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, name, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            for e in self.events:
                if e.get("method") == name:
                    return e
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(name)


def png_colours(data):
    """(distinct colours in a sample, share of the most common one) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    counts = {}
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if y % 4 == 0:
            for x in range(0, w, 4):
                px = bytes(line[x * bpp:x * bpp + 3])
                counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    return len(counts), max(counts.values()) / total


def start_browser(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        return None, "no chromium on PATH (apt-get install chromium)"
    proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1200,900",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    for _ in range(300):
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if lines:
                return (proc, int(lines[0])), None
        if proc.poll() is not None:
            return None, "chromium exited with %d at start" % proc.returncode
        time.sleep(0.1)
    proc.kill()
    return None, "chromium did not open its DevTools port"


def check_page(port, path, expects, shot):
    req = urllib.request.Request("http://127.0.0.1:%d/json/new?about:blank" % port, method="PUT")
    target = json.loads(urllib.request.urlopen(req, timeout=30).read())
    page = Page(WebSocket(target["webSocketDebuggerUrl"]))
    problems = []
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(domain + ".enable")
        page.call("Page.navigate", url="file://" + os.path.abspath(path))
        page.wait_event("Page.loadEventFired")
        time.sleep(0.3)
        page.call("Runtime.evaluate", expression="1")  # drain events that arrived with the load
        for e in page.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                problems.append("console %s: %s" % (p["type"], p.get("args")))
            elif m == "Runtime.exceptionThrown":
                problems.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                problems.append("log %s: %s" % (p["entry"]["level"], p["entry"]["text"]))
            elif m == "Network.loadingFailed":
                problems.append("request failed: %s" % p.get("errorText"))
        probe = ("JSON.stringify({imgs: [...document.images].map(i => [i.getAttribute('src'), i.complete, "
                 "i.naturalWidth, i.alt]), svgs: [...document.querySelectorAll('svg')].map(s => "
                 "[s.getAttribute('role'), s.getAttribute('aria-labelledby') ? s.getAttribute('aria-labelledby')"
                 ".split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join(' ') : '']), "
                 "text: document.body.innerText, scripts: document.scripts.length, "
                 "external: [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || "
                 "e.getAttribute('href')).filter(u => /^[a-z]+:/i.test(u))})")
        r = json.loads(page.call("Runtime.evaluate", expression=probe, returnByValue=True)["result"]["value"])
        for src, complete, width, alt in r["imgs"]:
            src = src if len(src) < 80 else src[:77] + "..."
            if not complete or width <= 0:
                problems.append("image %s did not decode" % src)
            if not alt.strip():
                problems.append("image %s has no alt text" % src)
        for role, name in r["svgs"]:
            if role != "img" or not name.strip():
                problems.append("an svg chart has no role=img or no accessible name")
        if r["scripts"]:
            problems.append("the page has %d script(s): it must read without JavaScript" % r["scripts"])
        if r["external"]:
            problems.append("the page refers outside itself: %s" % [u[:80] for u in r["external"][:3]])
        for t in expects:
            if t not in r["text"]:
                problems.append("the text lacks %r" % t)
        metrics = page.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": min(metrics["width"], 1200), "height": min(metrics["height"], 4000),
                "scale": 1}
        png = base64.b64decode(page.call("Page.captureScreenshot", format="png", clip=clip,
                                           captureBeyondViewport=True)["data"])
        colours, top_share = png_colours(png)
        if colours < 16 or top_share > 0.98:
            problems.append("the screenshot looks blank (%d colours, %.1f%% one colour)" % (colours, 100 * top_share))
        if shot:
            with open(shot, "wb") as f:
                f.write(png)
        return problems, len(r["imgs"]), len(r["svgs"])
    finally:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/json/close/%s" % (port, target["id"]), timeout=10).read()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pages", nargs="+")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--screenshot", help="save the (first) page's screenshot here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        started, why = start_browser(profile)
        if not started:
            print("SKIP: %s" % why)
            return SKIP
        proc, port = started
        failed = 0
        try:
            for i, p in enumerate(a.pages):
                problems, nimg, nsvg = check_page(port, p, a.expect, a.screenshot if i == 0 else None)
                for q in problems:
                    print("FAIL %s: %s" % (p, q))
                failed += bool(problems)
                if not problems:
                    print("ok %s (%d images, %d charts)" % (p, nimg, nsvg))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the browser and its helper processes
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
