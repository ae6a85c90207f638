"""Fuzzing the whole surface: schemathesis over every operation (positive and negative generation), and the
mutation fuzzer over every path of a valid request of every operation with the full spoiler set.

Prints, per operation, the examples sent and the 5xx and out-of-spec answers seen (targets: 0 and 0). The
app runs in process; model endpoints point at a loopback model that answers in the generic JSON format, and
schemathesis' generated URLs are refused by the SSRF guard without any DNS.

Run: ``.venv/bin/python benchmarks/bench_fuzz.py [--examples 1000]`` (about 10 minutes at 1,000).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import schemathesis  # noqa: E402
from demo.serving import serve  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode  # noqa: E402
from tests.hostile import MORE_SPOILERS, ConstantModel, bodies, fuzz_binary_bodies, mutations  # noqa: E402

from fairprobe import Settings, create_app  # noqa: E402
from fairprobe.endpoints import TargetGuard  # noqa: E402


def _no_dns(host: str, *_: Any, **__: Any) -> list[Any]:
    raise socket.gaierror(socket.EAI_NONAME, "the fuzzer resolves no host")


def fuzz(operation: Any, examples: int) -> tuple[int, int, int]:
    """(examples sent, 5xx answers, answers outside the spec) for one operation."""
    counts = Counter[str]()

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate], database=None)
    def run(case: schemathesis.Case[Any]) -> None:
        counts["sent"] += 1
        response = case.call()
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception:  # counted, not raised: the table shows every operation
            counts["server_errors"] += 1
        try:
            case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                                     response_schema_conformance])
        except Exception:
            counts["off_spec"] += 1

    run()
    return counts["sent"], counts["server_errors"], counts["off_spec"]


def schemathesis_run(examples: int) -> None:
    app = create_app(Settings())
    app.extensions["fairprobe.guard"] = TargetGuard(resolve=_no_dns)
    fuzz_binary_bodies()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    print("| operation | examples | 5xx | out of spec |")
    print("|---|---|---|---|")
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation raises here, as it should
        started = time.perf_counter()
        sent, server_errors, off_spec = fuzz(operation, examples)
        print(f"| {operation.method.upper()} {operation.path} | {sent} | {server_errors} | {off_spec} |"
              f"  <!-- {time.perf_counter() - started:.0f} s -->", flush=True)


def mutation_run() -> None:
    model = ConstantModel()
    with serve(model) as url:
        client = create_app(Settings(allowed_targets=("127.0.0.1/32",))).test_client()
        print("\n| operation (mutation fuzzer) | spoiled requests | 5xx | 4xx not problem+json |")
        print("|---|---|---|---|")
        for name, (path, body) in bodies(url).items():
            sent = errors = bad_type = 0
            for label, spoiled in mutations(body, MORE_SPOILERS):
                response = client.post(path, json=spoiled)
                sent += 1
                problem = response.mimetype == "application/problem+json"
                unavailable = response.status_code == 502 and problem and \
                    response.get_json()["type"].endswith("/model-unavailable")
                if response.status_code >= 500 and not unavailable:
                    errors += 1
                    print(f"  5xx: {name}: {label}", file=sys.stderr)
                if 400 <= response.status_code < 500 and not problem:
                    bad_type += 1
            print(f"| {name} | {sent} | {errors} | {bad_type} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=1000, help="schemathesis examples per operation")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the service's request log would drown the table
    mutation_run()
    print()
    schemathesis_run(args.examples)


if __name__ == "__main__":
    main()
