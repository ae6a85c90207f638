"""Import layers hold (import-linter), and the AIF360 memo cache does not keep audits alive."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient

from tests.reference import ClassificationMetric

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts() -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def _memo_entries() -> int:
    total = 0
    for cls in ClassificationMetric.__mro__:
        for member in vars(cls).values():
            code = getattr(member, "__code__", None)
            if code is not None and "cache" in code.co_freevars and member.__closure__:
                total += len(member.__closure__[code.co_freevars.index("cache")].cell_contents)
    return total


def test_audits_leave_no_aif360_memo_entries(client: FlaskClient) -> None:
    records = [{"g": g, "h": h, "y": (i * 7) % 3 == 0, "p": (i * 5) % 2 == 0}
               for i, (g, h) in enumerate([("a", "x"), ("b", "y"), ("c", "x")] * 20)]
    body = {"data": {"records": records}, "label": "y", "prediction": "p", "positive_label": True,
            "protected": [{"attribute": "g"}, {"attribute": "h"}], "intersections": [["g", "h"]]}
    before = _memo_entries()
    for _ in range(20):
        assert client.post("/v1/audits", json=body).status_code == 200
    gc.collect()
    assert _memo_entries() == before
