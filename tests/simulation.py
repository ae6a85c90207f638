"""Audits and probes of data whose truth is known, for checking the decision rule by simulation.

Each scenario draws one data set from a known truth and returns the verdict the service gives it. Audits go
through the real schema and engine as a counts table drawn from the exact multinomial distribution of the
rows (an audit of a counts table equals the audit of its rows, which the input tests show), so a 100,000-row
audit costs what a 96-cell one does. Probes go through the real probe engine with a scorer double whose
true flip rate is set. ``benchmarks/bench_decisions.py`` runs many replicates; the test suite a few.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairprobe.domain.endpoint import Accounting, EndpointSpec, Format, FormatOptions, Output, Scored
from fairprobe.domain.findings import Status
from fairprobe.domain.names import Name, NameGroup
from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.domain.probes import NameSlots, NameSwapRequest, Profiles
from fairprobe.engines.audit import DatasetAudit
from fairprobe.engines.counterfactual import NameSwapProbe
from fairprobe.schemas.audit import AuditRequestSchema

Scenario = Callable[[np.random.Generator], Status]

#: the fair-by-construction population of (a): sex x 4 races x 3 age bands with unequal shares
SHARES = {
    "sex": {"female": 0.5, "male": 0.5},
    "race": {"white": 0.6, "black": 0.2, "hispanic": 0.15, "asian": 0.05},
    "age": {"young": 0.3, "middle": 0.5, "older": 0.2},
}


@dataclass(frozen=True)
class Rate:
    """A share of replicates with its Monte Carlo standard error."""

    share: float
    error: float
    replicates: int

    def __str__(self) -> str:
        return f"{self.share * 100:5.1f}% ± {self.error * 100:.1f}"


def rate(scenario: Scenario, want: Status, replicates: int, seed: int) -> Rate:
    """The share of ``replicates`` seeded runs of ``scenario`` whose verdict is ``want``."""
    rng = np.random.default_rng(seed)
    hits = sum(scenario(rng) is want for _ in range(replicates))
    share = hits / replicates
    return Rate(share, float(np.sqrt(max(share * (1 - share), 1 / replicates) / replicates)), replicates)


def audit_counts(cells: Sequence[Mapping[str, Any]], protected: Sequence[Mapping[str, Any]],
                 policy: Mapping[str, Any], **extra: Any) -> Status:
    """The verdict of ``POST /v1/audits`` on a counts table (schema and engine, without HTTP)."""
    columns = {key: [c[key] for c in cells] for key in cells[0]}
    body = {"data": {"columns": columns}, "label": "y", "prediction": "yhat", "count": "n",
            "protected": list(protected), "policy": dict(policy), **extra}
    request = AuditRequestSchema().load(body)
    return DatasetAudit(request_id="simulation").run(request).verdict


def _cells(rng: np.random.Generator, sizes: Mapping[tuple[Any, ...], int], names: Sequence[str],
           p_label: float, p_positive: Callable[[tuple[Any, ...], int], float]) -> list[dict[str, Any]]:
    """A counts table: per group, ``size`` people with label ~ Bernoulli(p_label) and prediction ~
    Bernoulli(p_positive(group, label))."""
    out = []
    for group, size in sizes.items():
        probs = []
        for y, yhat in itertools.product((0, 1), (0, 1)):
            p_y = p_label if y else 1 - p_label
            p_hat = p_positive(group, y)
            probs.append(p_y * (p_hat if yhat else 1 - p_hat))
        for (y, yhat), n in zip(itertools.product((0, 1), (0, 1)), rng.multinomial(size, probs), strict=True):
            if n:
                out.append({**dict(zip(names, group, strict=True)), "y": y, "yhat": yhat, "n": int(n)})
    return out


def fair_population(n: int, *, order: int = 3) -> Scenario:
    """(a) A model fair by construction: every group has the same base rate, TPR and FPR; default policy."""
    names = list(SHARES)
    groups = list(itertools.product(*(SHARES[a] for a in names)))
    probs = [float(np.prod([SHARES[a][v] for a, v in zip(names, g, strict=True)])) for g in groups]

    def run(rng: np.random.Generator) -> Status:
        sizes = dict(zip(groups, rng.multinomial(n, probs), strict=True))
        cells = _cells(rng, {g: s for g, s in sizes.items() if s}, names, 0.4, lambda _g, y: 0.7 if y else 0.2)
        return audit_counts(cells, [{"attribute": a} for a in names], {"rules": _default_rules()},
                            max_intersection_order=order)

    return run


def _default_rules() -> list[dict[str, Any]]:
    return [{"metric": "disparate_impact", "min": 0.8}, {"metric": "statistical_parity_difference", "max_abs": 0.1},
            {"metric": "equal_opportunity_difference", "max_abs": 0.1},
            {"metric": "average_odds_difference", "max_abs": 0.1}]


def two_groups(n: int, p_reference: float, p_group: float, rule: Mapping[str, Any], *,
               decision_rule: str = "bound") -> Scenario:
    """Two groups of ``n`` people with selection rates ``p_group`` and ``p_reference``, one rule."""
    def run(rng: np.random.Generator) -> Status:
        cells = _cells(rng, {("b",): n, ("a",): n}, ["g"], 0.5,
                       lambda g, _y: p_group if g == ("b",) else p_reference)
        policy = {"rules": [dict(rule)], "decision_rule": decision_rule}
        return audit_counts(cells, [{"attribute": "g", "reference": "a"}], policy)

    return run


# ------------------------------------------------------------------ probes


class FlippingScorer:
    """A model whose decision for a profile changes with the name with a known probability.

    Every profile carries a uniform draw ``u``; under a name of the treated group its decision is
    negative when ``u < flip_rate``, otherwise positive. The true flip rate is ``flip_rate`` exactly.
    """

    def __init__(self, treated: set[str], flip_rate: float) -> None:
        self.treated = treated
        self.flip_rate = flip_rate

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        decisions = tuple(not (r["first_name"] in self.treated and r["u"] < self.flip_rate) for r in records)
        n = len(records)
        return Scored(tuple(float(d) for d in decisions), decisions, (None,) * n,
                      Accounting(n, n, 0, {}, {}, 1, 0, 0.0, 60.0))


_REFERENCE = NameGroup("ref", {"group": "ref"}, (Name("Anne", None, None),))
_TREATED = NameGroup("other", {"group": "other"}, (Name("Lakisha", None, None),))
_ENDPOINT = EndpointSpec(url="http://model.invalid/", format=Format.JSON, options=FormatOptions(),
                         output=Output.SCORE, threshold=0.5, positive_label=1)


def flip_probe(profiles: int, flip_rate: float, bound: float = 0.01, *, alpha: float = 0.05) -> Scenario:
    """A name swap of ``profiles`` profiles against a model with a true flip rate; rule ``flip_rate max bound``."""
    policy = Policy(rules=(Rule("flip_rate", Bound.MAX, bound),), alpha=alpha, min_group_size=30, source="request")

    def run(rng: np.random.Generator) -> Status:
        u = rng.uniform(size=profiles)
        request = NameSwapRequest(
            endpoint=_ENDPOINT, profiles=Profiles(tuple(map(str, range(profiles))),
                                                  tuple({"first_name": "Pat", "u": float(x)} for x in u)),
            slots=NameSlots(first_name="first_name"), bank="custom", groups=(_REFERENCE, _TREATED),
            reference="ref", names_per_group=1, policy=policy, seed=0)
        scorer = FlippingScorer({"Lakisha"}, flip_rate)
        return NameSwapProbe(request_id="simulation", scorer=scorer).run(request).verdict

    return run
