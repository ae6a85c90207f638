"""Every example in the README runs as printed against ``make demo`` (so the README cannot rot).

``make demo`` is started as a user starts it, on free ports. The examples run in a scratch copy of the
checkout's layout (``demo/`` and ``.venv`` beside a ``../shared/data``) with the two ports rewritten in the
example text and the demo specs, so nothing is written into the checkout. A shell example runs under
``bash -euo pipefail``; a gate example prints ``fairprobe exited N`` and N must be a verdict (0, 1, 2).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.gunicorn_server import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SKIP = "<!-- readme: not run"


@dataclass(frozen=True)
class Example:
    line: int
    language: str
    code: str


def examples(text: str) -> list[Example]:
    """The README's ``sh`` and ``python`` blocks, except those marked ``<!-- readme: not run (why) -->``."""
    found: list[Example] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(sh|python)\s*$", lines[i])
        if fence is None:
            i += 1
            continue
        end = lines.index("```", i + 1)
        if not (i > 0 and lines[i - 1].startswith(SKIP)):
            found.append(Example(i + 1, fence.group(1), "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return found


@dataclass(frozen=True)
class Demo:
    service: str
    models: str
    workspace: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Demo]:
    port, models_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("demo-log") / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "-s", "-o", ".venv/.installed", "demo", f"PORT={port}", f"MODELS_PORT={models_port}"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "FAIRPROBE_SHARED_DATA": str(data_dir)})
    service, models = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{models_port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(service + "/readyz", timeout=2).ok and requests.get(models + "/", timeout=2).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):  # still starting, or busy training
                pass
            assert time.monotonic() < deadline, "make demo did not come up:\n" + log.read_text()
            time.sleep(0.5)
        # the checkout's layout in scratch space: demo/ (ports rewritten), .venv, and ../shared/data
        root = tmp_path_factory.mktemp("readme")
        workspace = root / "main"
        shutil.copytree(REPO / "demo", workspace / "demo", ignore=shutil.ignore_patterns("__pycache__"))
        for spec in (workspace / "demo").glob("*.yaml"):
            spec.write_text(rewrite(spec.read_text(encoding="utf-8"), port, models_port), encoding="utf-8")
        (workspace / ".venv").symlink_to(REPO / ".venv")
        (root / "shared").mkdir()
        (root / "shared" / "data").symlink_to(data_dir)
        yield Demo(service, models, workspace)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def rewrite(text: str, port: int, models_port: int) -> str:
    return text.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("127.0.0.1:5000", f"127.0.0.1:{models_port}")


README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_has_examples_for_every_audience() -> None:
    shown = examples(README)
    code = "".join(e.code for e in shown)
    for needed in ("fairprobe audit", "fairprobe name-swap", "client.audit(", "/v1/audits/upload",
                   "/v1/probes/name-swap", "fairprobe $command", '"count": "n"'):
        assert needed in code, needed
    assert all("..." not in e.code for e in shown), "an example with '...' cannot run as printed"


@pytest.mark.parametrize("example", examples(README), ids=lambda e: f"README.md:{e.line}")
def test_the_example_runs_as_printed(example: Example, demo: Demo) -> None:
    port, models_port = int(demo.service.rsplit(":", 1)[1]), int(demo.models.rsplit(":", 1)[1])
    code = rewrite(example.code, port, models_port)
    command = ["bash", "-euo", "pipefail", "-c", code] if example.language == "sh" else \
        [str(demo.workspace / ".venv" / "bin" / "python"), "-c", code]
    # the CLI's default service is 127.0.0.1:8000; here it is the demo's port, as the rewrite does for the text
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FAIRPROBE_")}, "FAIRPROBE_URL": demo.service}
    result = subprocess.run(command, cwd=demo.workspace, capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    for status in re.findall(r"fairprobe .*exited (\d+)", result.stdout):
        assert status in ("0", "1", "2"), output  # a verdict, never an error
