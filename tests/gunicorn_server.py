"""The service as deployed: gunicorn with ``gunicorn.conf.py`` on a free loopback port, and tools to load it.

Used by the end-to-end tests and by the load and availability benchmarks. gunicorn's control socket is
disabled by the config (gunicorn 27 would otherwise open one under ``$HOME/.gunicorn``); ``HOME`` points at a
fresh folder anyway, so a regression shows as a file there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    home: Path

    def log_lines(self) -> list[str]:
        return [line for path in (self.stdout, self.stderr)
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []


@contextmanager
def gunicorn(**env: str) -> Iterator[Gunicorn]:
    """Run ``gunicorn -c gunicorn.conf.py "fairprobe:create_app()"`` until the block ends."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fairprobe-gunicorn-") as tmp:
        folder = Path(tmp)
        home = folder / "home"
        home.mkdir()
        stdout, stderr = folder / "stdout.log", folder / "stderr.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRPROBE_", "PROMETHEUS_"))}
        environment |= {"FAIRPROBE_BIND": f"127.0.0.1:{port}", "HOME": str(home), **env}
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "fairprobe:create_app()"],
                cwd=REPO, env=environment, stdout=out, stderr=err)
            server = Gunicorn(f"http://127.0.0.1:{port}", process, stdout, stderr, home)
            try:
                _wait_ready(server)
                yield server
            finally:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_ready(server: Gunicorn, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + "\n".join(server.log_lines()[-20:]))
        try:
            if requests.get(server.url + "/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")


class SlowModel:
    """A model that takes ``delay`` seconds per call, answers constant scores, and keeps the request ids."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.request_ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.request_ids.append(request.headers.get("X-Request-ID", ""))
        records = json.loads(request.get_data())["records"]
        time.sleep(self.delay)
        body = json.dumps({"predictions": [{"score": 0.7} for _ in records]})
        return Response(body, mimetype="application/json")(environ, start_response)


def slow_probe(model_url: str, profiles: int = 10, deadline_s: float = 20) -> dict[str, Any]:
    """A name swap that sends one record per call, one call at a time, to a slow model."""
    return {"endpoint": {"url": model_url + "/score", "format": "json", "response_path": "predictions[*].score",
                         "batch_size": 1, "concurrency": 1, "timeout_s": 30, "deadline_s": deadline_s, "retries": 0},
            "profiles": {"records": [{"first_name": "Pat", "age": 30 + i} for i in range(profiles)]},
            "name_fields": {"first_name": "first_name"}, "bank": "bertrand-mullainathan-2004",
            "groups": ["white_male", "black_female"], "reference": "white_male", "names_per_group": 1}


def trickle(url: str, stop: threading.Event, results: list[Any], declared: int = 10_000) -> None:
    """A client sending its body one byte a second (a slowloris on the body); keeps the status it got."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(f"POST /v1/audits HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode())
        sock.settimeout(1.0)
        sent = 0
        while not stop.is_set() and sent < declared:
            try:
                sock.sendall(b" ")
                sent += 1
            except OSError:  # the server stopped reading: its answer may already be waiting
                sock.settimeout(5.0)
            try:
                answer = sock.recv(4096)
            except (TimeoutError, OSError):
                continue
            results.append(answer.split(b" ", 2)[1].decode() if answer else "closed without an answer")
            return
        results.append("no answer")


def small_audit() -> dict[str, Any]:
    rows = [{"g": "a" if i % 2 else "b", "y": i % 3 % 2, "p": i % 2} for i in range(200)]
    return {"data": {"records": rows}, "label": "y", "prediction": "p", "favorable": 1,
            "protected": [{"attribute": "g"}]}
