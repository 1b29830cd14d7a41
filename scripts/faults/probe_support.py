"""Shared pieces of the fault probes in scripts/faults/ (standard library only).

A probe starts the real `orderpush` binary (default: the release build,
.build/release/orderpush; set ORDERPUSH_BIN to use another) on 127.0.0.1 with a free port
and its own temporary data folder, talks to it over loopback only, and stops it at the end.
"""
import atexit
import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("ORDERPUSH_BIN", os.path.join(REPO, ".build", "release", "orderpush"))


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Server:
    """One `orderpush serve` process. `start()` waits for its listening line."""

    def __init__(self, data_dir=None, extra_args=(), port=0):
        if not os.path.exists(BINARY):
            sys.exit(f"no binary at {BINARY}: run `swift build -c release --product orderpush` first")
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="orderpush-probe-")
        self.db = os.path.join(self.data_dir, "orderpush.sqlite")
        self.extra_args = list(extra_args)
        self.port = port
        self.process = None
        self.stderr_path = os.path.join(self.data_dir, "server.stderr")
        # A probe that fails half-way must not leave its server running.
        atexit.register(self._kill_if_running)

    def _kill_if_running(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def start(self, timeout=30):
        args = [BINARY, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", self.db,
                "--web", os.path.join(REPO, "web")] + self.extra_args
        self.stderr_file = open(self.stderr_path, "ab")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr_file)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.process.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError(f"server exited during start-up, see {self.stderr_path}")
            m = re.search(r"listening on http://[^ ]*:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                # Keep draining stdout so the server never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("no listening line in time")

    def _drain(self):
        for _ in self.process.stdout:
            pass

    @property
    def pid(self):
        return self.process.pid

    def rss_kb(self):
        """Resident set size from /proc (kB), or None once the process is gone."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except FileNotFoundError:
            return None
        return None

    def open_fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except FileNotFoundError:
            return None

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return "killed after SIGTERM timeout"

    def token(self, sub, role, ttl=3600):
        out = subprocess.run([BINARY, "token", "--sub", sub, "--role", role, "--ttl", str(ttl), "--db", self.db],
                             check=True, capture_output=True, text=True).stdout
        return out.strip().splitlines()[-1].strip()

    def http(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def metrics(self):
        c = self.http()
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    values[name] = float(value)
                except ValueError:
                    pass
        return values

    def healthz(self):
        try:
            c = self.http(timeout=5)
            c.request("GET", "/healthz")
            status = c.getresponse().status
            c.close()
            return status
        except OSError as e:
            return f"error: {e.__class__.__name__}"


def call(conn, method, path, token=None, body=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, (json.loads(data) if data else None)
    except ValueError:
        return r.status, data


def order_body(note="", items=1, user_id=None):
    body = {"items": [{"productId": f"p{i}", "name": "Tea " + "t" * 40, "quantity": 2, "price": 120.0}
                      for i in range(items)] if items > 1 else
            [{"productId": "p1", "name": "Tea", "quantity": 2, "price": 120.0}], "paymentMethod": "cod"}
    if note:
        body["metadata"] = {"note": note}
    if user_id:
        body["userId"] = user_id  # an admin or service token creates for that user
    return body


def websocket(port, token, recv_buffer=None, timeout=10):
    """A raw socket upgraded to a WebSocket on /ws; returns the socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if recv_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws?access_token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("closed during upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("upgrade refused: " + head.split(b"\r\n")[0].decode())
    return s


def ws_send_text(s, text):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    n = len(payload)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_read_frame(s):
    """(opcode, payload) of the next frame; None at EOF."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    h = exact(2)
    if h is None:
        return None
    opcode, n = h[0] & 0x0F, h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(exact(2), "big")
    elif n == 127:
        n = int.from_bytes(exact(8), "big")
    return opcode, exact(n)
