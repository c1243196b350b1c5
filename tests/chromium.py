"""Headless Chromium over the DevTools protocol, and pdftotext: what a reader of the outputs gets.

Chromium is driven over `--remote-debugging-pipe`, so no browser download and no extra
Python package is needed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Browser:
    """Minimal Chrome DevTools protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds():
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=1200,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, pass_fds=(3, 4),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("no reply from chromium")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self._read(deadline - time.monotonic())
            self.events.append(e)
            if e.get("method") == method:
                return e
        raise TimeoutError(method)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def evaluate_at_width(html: Path, tmp: Path, width: int, expression: str):
    """The JSON value of `expression` run in `html` as loaded in a viewport `width` px wide
    (a phone below 600 px), each width with a fresh profile under `tmp`."""
    b = Browser(tmp / f"profile-{width}")
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        b.send("Page.enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                      "mobile": width < 600}, session=s)
        b.send("Page.navigate", {"url": html.as_uri()}, session=s)
        b.wait_event("Page.loadEventFired")
        return json.loads(b.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                 session=s)["result"]["value"])
    finally:
        b.close()


def inspect_html(html: Path, screenshot: Path, tmp: Path) -> dict:
    """Open the file in Chromium; return what loaded, broken links, console errors and requests."""
    b = Browser(tmp / "chromium-profile")
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(f"{domain}.enable", session=s)
        b.send("Page.navigate", {"url": html.as_uri()}, session=s)
        b.wait_event("Page.loadEventFired")
        js = """JSON.stringify({
          images: [...document.images].map(i => ({src: i.src.slice(0, 40), w: i.naturalWidth, done: i.complete})),
          brokenLinks: [...document.querySelectorAll('a[href^="#"]')]
              .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id)),
          text: document.body.innerText,
          citations: document.querySelectorAll('.citation').length,
          refEntries: document.querySelectorAll('#refs .csl-entry').length,
          figcaptions: [...document.querySelectorAll('figcaption')].map(f => f.innerText),
          captions: [...document.querySelectorAll('table caption, .table-caption')].map(c => c.innerText),
          headings: [...document.querySelectorAll('main h1, main h2')].map(h => h.innerText.replace(/\\s+/g, ' ')),
          toc: document.querySelectorAll('#TOC a').length,
          callouts: [...document.querySelectorAll('.callout')].map(c => c.className),
          stylesheets: document.styleSheets.length,
        })"""
        result = json.loads(b.send("Runtime.evaluate", {"expression": js, "returnByValue": True}, session=s)
                            ["result"]["value"])
        shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=s)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = [e for e in b.events if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        requests = [e["params"]["request"]["url"] for e in b.events if e.get("method") == "Network.requestWillBeSent"]
        result["console_errors"] = errors
        result["requests"] = requests
        return result
    finally:
        b.close()


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
