"""``fairprobe audit data.csv --label y --prediction yhat --protected race=Caucasian --protected sex``.

Prints the report as JSON; exits 0 on a pass verdict, 1 on fail, 2 on inconclusive, 3 on an error,
so a pipeline can gate a release on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fairprobe_client._client import DEFAULT_TIMEOUT, Client
from fairprobe_client._exceptions import APIStatusError, FairprobeClientError

EXIT = {"pass": 0, "fail": 1, "inconclusive": 2}


def _protected(item: str) -> dict[str, Any]:
    name, sep, reference = item.partition("=")
    return {"attribute": name, "reference": reference} if sep else {"attribute": name}


def _label(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fairprobe", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser("audit", help="audit a CSV file")
    audit.add_argument("csv")
    audit.add_argument("--label", required=True)
    audit.add_argument("--prediction")
    audit.add_argument("--score")
    audit.add_argument("--threshold", type=float)
    audit.add_argument("--positive-label", type=_label, default=1)
    audit.add_argument("--favorable", type=_label)
    audit.add_argument("--protected", action="append", required=True, type=_protected,
                       help="column, or column=reference")
    audit.add_argument("--policy", help="JSON file with the fairness policy")
    args = parser.parse_args(argv)

    policy = None
    if args.policy:
        with open(args.policy, encoding="utf-8") as handle:
            policy = json.load(handle)
    try:
        with Client(args.url, api_key=args.api_key, timeout=args.timeout) as client:
            report = client.audit(
                pd.read_csv(args.csv), label=args.label, prediction=args.prediction, score=args.score,
                threshold=args.threshold, positive_label=args.positive_label, favorable=args.favorable,
                protected=args.protected, policy=policy,
            )
    except APIStatusError as exc:
        print(json.dumps(exc.problem, indent=2, ensure_ascii=False), file=sys.stderr)
        return 3
    except FairprobeClientError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return EXIT.get(report.get("verdict", ""), 3)


if __name__ == "__main__":
    raise SystemExit(main())
