"""Directed search (AEQUITAS) against random sampling on the same probe budget, over several seeds.

The model is German-credit logistic regression that lowers the logit of women by 1.0 (the "direct"
model of the tests), served over HTTP on loopback. For each seed both searches get the same budget of
probes; the script prints the distinct discriminating profiles each found and their ratio.

Run from the repository root: ``.venv/bin/python benchmarks/bench_discrimination.py [--budget N]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' model server and data reader

from demo.credit import REFERENCE, CreditApp, CreditModel, read_german  # noqa: E402
from demo.serving import serve  # noqa: E402

from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output  # noqa: E402
from fairprobe.domain.stress import DiscriminationRequest, Generator  # noqa: E402
from fairprobe.endpoints import EndpointClient, TargetGuard  # noqa: E402
from fairprobe.engines.discrimination import DiscriminationSearch  # noqa: E402
from fairprobe.schemas.policy import build_policy  # noqa: E402
from fairprobe.schemas.stress import DEFAULT_SEARCH_RULES  # noqa: E402

DATA = Path(os.environ.get("FAIRPROBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
#: the service's default search policy (causal discrimination rate at most 1%, alpha 0.05)
POLICY = build_policy(None, DEFAULT_SEARCH_RULES, ["sex"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    german = read_german(DATA)
    generator = Generator(kind="reference", reference=german[REFERENCE], protected=("sex", "personal_status"))
    print(f"German credit, direct model, budget {args.budget} probes per search (2 per profile)")
    print(f"{'seed':>4} {'directed':>9} {'random':>7} {'ratio':>6}")
    ratios = []
    with serve(CreditApp(CreditModel(german))) as url:
        spec = EndpointSpec(url=f"{url}/direct", format=Format.JSON,
                            options=FormatOptions(response_path="predictions[*].score"), output=Output.SCORE,
                            threshold=0.5, positive_label=1, batch_size=200, deadline_s=300)
        target = TargetGuard(["127.0.0.1/32"]).check(spec.url)
        for seed in range(args.seeds):
            request = DiscriminationRequest(
                endpoint=spec, generator=generator, protected_values={"sex": ("female", "male")},
                methods=("directed",), precision=0.01, max_probes=args.budget, batch_profiles=50,
                directed_global_share=0.2, examples=0, policy=POLICY, seed=seed)
            scorer = EndpointClient(spec, target, max_response_bytes=16 << 20, seed=seed)
            directed = DiscriminationSearch(request_id="bench", scorer=scorer).run(request).directed
            assert directed is not None
            ratio = directed.directed_found / directed.random_found
            ratios.append(ratio)
            print(f"{seed:>4} {directed.directed_found:>9} {directed.random_found:>7} {ratio:>6.2f}")
    print(f"mean ratio directed / random: {sum(ratios) / len(ratios):.2f}x (min {min(ratios):.2f}x)")


if __name__ == "__main__":
    main()
