"""The CLI's stress and search commands run the shipped demo specs against the German-credit models."""

from __future__ import annotations

import json
from pathlib import Path

from fairprobe_client.cli import main

REPO = Path(__file__).resolve().parents[2]


def spec_for(name: str, model_url: str, folder: Path) -> Path:
    text = (REPO / "demo" / f"{name}.yaml").read_text(encoding="utf-8")
    path = folder / f"{name}.yaml"
    path.write_text(text.replace("http://127.0.0.1:5000/credit", model_url), encoding="utf-8")
    return path


def test_stress_and_search_from_specs(live_server: str, credit_server: str, tmp_path: Path) -> None:
    out = tmp_path / "stress.json"
    assert main(["--url", live_server, "stress", str(spec_for("stress", credit_server, tmp_path)),
                 "--out", str(out)]) == 1
    stress = json.loads(out.read_text())
    female = next(f for f in stress["findings"] if f["group"] == {"sex": "female"}
                  and f["metric"] == "disparate_impact")
    assert female["status"] == "fail" and female["ci_high"] < 0.8
    out = tmp_path / "search.json"
    assert main(["--url", live_server, "search", str(spec_for("search", credit_server, tmp_path)),
                 "--out", str(out)]) == 1
    search = json.loads(out.read_text())
    assert search["causal"]["rate"]["ci_low"] > 0.05 and search["directed"]["directed_found"] > 0
