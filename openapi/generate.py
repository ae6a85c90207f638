"""Write openapi/openapi.yaml from the marshmallow schemas (never edit the YAML by hand).

Run: python openapi/generate.py        (tests/contract/test_openapi.py fails when it drifts)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from fairprobe import Settings, create_app

TARGET = Path(__file__).with_name("openapi.yaml")


def render() -> str:
    app = create_app(Settings())
    with app.app_context():
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return yaml.safe_dump(spec, sort_keys=True, allow_unicode=True, width=110)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
