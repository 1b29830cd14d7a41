"""The real orderpush server and headless Chromium, for the browser tests and
scripts/screenshots.py.

The server binary is ORDERPUSH_BIN (default .build/debug/orderpush, relative to the
repository root). Chromium and chromedriver are found on PATH; CHROME_BIN and
CHROMEDRIVER override them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ORDERPUSH_BIN", ".build/debug/orderpush"))
if not BIN.is_absolute():
    BIN = REPO / BIN

CHROME = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")

STARTUP_DEADLINE_S = 15.0


class ServerError(AssertionError):
    """The server did not start; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One orderpush process on a free loopback port with its own database in `folder`.

    The server creates its signing secret next to the database on first start, as it
    does for anyone running it; tokens come from `orderpush token --db`. stop() and
    start() again keep the port, database and secret.
    """

    def __init__(self, folder: Path, web: Path = REPO / "web"):
        self.folder = folder
        self.web = web
        self.port = free_port()
        self.db = folder / "db.sqlite"
        self.log_path = folder / "server.log"
        self.proc: subprocess.Popen | None = None
        self._tokens: dict[tuple[str, str], str] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secret(self) -> Path:
        """The signing secret the server generated at its first start."""
        return self.db.parent / "jwt-secret"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", str(self.db),
             "--web", str(self.web)],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"server exited with {self.proc.returncode} at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise ServerError(f"server did not answer /healthz within {STARTUP_DEADLINE_S} s:\n{self.log()}")

    def stop(self) -> int:
        """SIGTERM, as an operator would; returns the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def token(self, sub: str, role: str) -> str:
        """A token from the binary's own `token` command (cached per sub and role)."""
        key = (sub, role)
        if key not in self._tokens:
            out = subprocess.run(
                [str(BIN), "token", "--sub", sub, "--role", role, "--db", str(self.db)],
                cwd=self.folder, capture_output=True, text=True, timeout=30, check=True,
            )
            self._tokens[key] = out.stdout.strip().splitlines()[-1].strip()
        return self._tokens[key]

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict | None]:
        """One HTTP call (a service token unless `token` is given); returns status and JSON body."""
        headers = {"Authorization": f"Bearer {token or self.token('test-service', 'service')}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    def post_order(self, body: dict, token: str | None = None) -> dict:
        status, answer = self.api("POST", "/api/orders", body, token)
        assert status == 201, (status, answer)
        return answer["order"]

    def create_order(self, user_id: str, name: str = "Masala Tea", quantity: int = 2, price: float = 120.0) -> dict:
        return self.post_order({
            "userId": user_id,
            "items": [{"productId": "p1", "name": name, "quantity": quantity, "price": price}],
            "paymentMethod": "cod",
            "shippingAddress": {"line1": "12 MG Road", "city": "Bengaluru", "pin": "560001"},
            "metadata": {"source": "browser-test"},
        })

    def update_tracking(self, order_id: str, change: dict, token: str | None = None) -> dict:
        status, body = self.api("PUT", f"/api/orders/{order_id}/tracking", change, token)
        assert status == 200, (status, body)
        return body["order"]


def new_chrome(width: int = 1280, height: int = 800, extra_args: tuple[str, ...] = ()) -> webdriver.Chrome:
    """Headless Chromium with a window of the given size and the console log kept."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROME
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", *extra_args):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
