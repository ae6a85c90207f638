"""The CLI's probe commands run the shipped demo specs against the real model servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from demo.adult import ModelApp

REPO = Path(__file__).resolve().parents[2]
FAIRPROBE = Path(sys.executable).with_name("fairprobe")


def spec_for(name: str, model_url: str, folder: Path) -> Path:
    """A shipped demo spec pointed at this test's model server (its profiles file beside it)."""
    text = (REPO / "demo" / f"{name}.yaml").read_text(encoding="utf-8")
    for prefix in ("http://127.0.0.1:5000/adult/biased", "http://127.0.0.1:5000/adult/fair"):
        text = text.replace(prefix, model_url)
    (folder / "profiles.csv").write_bytes((REPO / "demo" / "profiles.csv").read_bytes())
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_name_swap_from_a_spec_with_a_key_from_the_environment(live_server: str, biased_server: str,
                                                              biased_app: ModelApp, tmp_path: Path) -> None:
    spec = spec_for("name-swap", biased_server, tmp_path)
    result = subprocess.run([str(FAIRPROBE), "--url", live_server, "name-swap", str(spec), "--progress",
                             "--format", "json"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "VENDOR_KEY": "vendor-secret-1"})
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["verdict"] == "fail"  # the model learnt race through names
    assert report["accounting"]["sent"] == report["accounting"]["answered"] == 200 * 4 * 5
    # the key reached the model, and only the model: not the report, not the terminal
    assert {h.get("Authorization") for h in biased_app.headers_seen} == {"Bearer vendor-secret-1"}
    assert "vendor-secret-1" not in result.stdout + result.stderr
    # the progress bar ended full
    assert "4,000/4,000 probes answered" in result.stderr


def test_flip_from_a_spec_writes_each_format(live_server: str, fair_server: str, tmp_path: Path) -> None:
    from fairprobe_client.cli import main

    spec = spec_for("flip", fair_server, tmp_path)
    for ext in ("json", "xml", "html", "md"):
        assert main(["--url", live_server, "flip", str(spec), "--out", str(tmp_path / f"flip.{ext}")]) == 1
    report = json.loads((tmp_path / "flip.json").read_text())
    flips = {c["label"]: c["metrics"]["flip_rate"]["value"] for c in report["comparisons"]}
    assert all(v is not None and v > 0.05 for v in flips.values())  # the model reads sex
    html = (tmp_path / "flip.html").read_text()
    assert "Counterfactual probe" in html and "flip_rate" in html
