"""A headless Chromium driven over the DevTools protocol, enough to use Neo4j Browser as a person does: open the
page, fill in the connect form, type commands into the editor and read what the result frames say."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

from websockets.sync.client import connect

_SET_VALUE = """(sel, v) => { const el = document.querySelector(sel);
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  set.call(el, v); el.dispatchEvent(new Event('input', {bubbles: true})); return true; }"""


class Chromium:
    def __init__(self, binary: str, *, timeout_s: float = 60.0):
        self._tmp = tempfile.TemporaryDirectory(prefix="kgrec-cdp-", ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             f"--user-data-dir={self._tmp.name}", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.monotonic() + timeout_s
        assert self.proc.stderr is not None
        while port is None and time.monotonic() < deadline:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self.proc.stderr.readline())
            port = int(m.group(1)) if m else None
        if port is None:
            self.close()
            raise RuntimeError("chromium did not open its DevTools port")
        page = next(t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
                    if t["type"] == "page")
        self._stack = contextlib.ExitStack()  # (a connection not entered as a context is deprecated)
        self.ws = self._stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30))
        self._ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params: Any) -> dict:
        n = next(self._ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str) -> Any:
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, *, timeout_s: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            v = self.js(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout_s:.0f} s for: {expression}; the page says:\n{self.body_text()[-3000:]}")
            time.sleep(0.25)

    def set_value(self, selector: str, value: str) -> None:
        self.js(f"({_SET_VALUE})({json.dumps(selector)}, {json.dumps(value)})")

    def type_command(self, text: str, *, shows: str, timeout_s: float = 60.0) -> None:
        """Type ``text`` into Browser's editor, run it (Ctrl+Enter) and wait until the page ``shows`` its result.

        On a loaded machine the editor may take the keys before it took the text; Ctrl+Enter is sent again
        while the text is still in the editor."""
        self.wait_for("!!document.querySelector('[data-testid=activeEditor] textarea')")
        self.js("document.querySelector('[data-testid=activeEditor] textarea').focus()")
        self.send("Input.insertText", text=text)
        editor = "(document.querySelector('[data-testid=activeEditor]') || {}).innerText || ''"
        deadline = time.monotonic() + timeout_s
        while True:
            if self.js(f"({editor}).trim().length > 0"):
                for kind in ("rawKeyDown", "keyUp"):
                    self.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                              windowsVirtualKeyCode=13, modifiers=2)
            try:
                self.wait_for(f"document.body.innerText.includes({json.dumps(shows)})", timeout_s=5.0)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def body_text(self) -> str:
        return self.js("document.body.innerText") or ""

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self._stack.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=30)
            shutil.rmtree(self._tmp.name, ignore_errors=True)  # chromium may still write as it exits
