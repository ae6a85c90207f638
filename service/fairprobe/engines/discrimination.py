"""Individual-discrimination search: Themis's causal discrimination rate and AEQUITAS's directed search.

A profile *discriminates* when its decisions differ across the combinations of protected values it is
sent with, everything else equal. Themis (Galhotra et al., FSE 2017) samples profiles until the Wilson
interval of the discriminating share is narrower than the requested precision or the probe budget is
spent. AEQUITAS (Udeshi et al., ASE 2018) starts from discriminating profiles found by random sampling
and perturbs their non-protected fields locally, favouring the fields whose perturbations found more;
it is compared with random sampling on the same probe budget by the number of *distinct* discriminating
profiles each finds.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from fairprobe.domain.endpoint import Accounting, Scored, Scorer
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.stress import (
    Causal,
    Directed,
    DiscriminationExample,
    DiscriminationReport,
    DiscriminationRequest,
    StressRecord,
)
from fairprobe.engines.audit import VERSIONS
from fairprobe.engines.measures import rate_estimate
from fairprobe.engines.policy import Candidate, judge, verdict
from fairprobe.engines.synthesis import CopulaSampler, Sampler, sampler_for
from fairprobe.errors import ModelUnavailable
from fairprobe.stats.bounds import Proportion
from fairprobe.stats.paired import flip_rate_test
from fairprobe.stats.proportions import wilson

__all__ = ["CAUSAL_RATE", "SEARCH_METRICS", "DiscriminationSearch"]

Record = dict[str, Any]
Clock = Callable[[], datetime]
#: AEQUITAS: how much a field's choice weight grows when perturbing it found a new discriminating profile
REWARD = 1.0
#: numeric perturbation step, as a share of the field's observed range
STEP = 0.05
#: a search stops after this many calls in a row in which the model answered no probe
DEAD_CALLS = 3
CAUSAL_RATE = "causal_discrimination_rate"
#: what a search policy may bound
SEARCH_METRICS: Mapping[str, str] = {
    CAUSAL_RATE: "share of randomly sampled profiles whose decision changes across the protected values "
                 "(Themis); from the random-sampling baseline when only the directed search runs",
}


class _Budget:
    """Sends profiles with every protected combination, within the probe budget, keeping the accounting."""

    def __init__(self, scorer: Scorer, combos: Sequence[Mapping[str, Any]], limit: int) -> None:
        self.scorer = scorer
        self.combos = combos
        self.limit = limit
        self.used = 0
        self.parts: list[Accounting] = []
        self.dead_calls = 0  # calls in a row that got no answer at all

    def room(self) -> int:
        """How many more profiles fit in the budget."""
        return (self.limit - self.used) // len(self.combos)

    def stop_reason(self) -> str | None:
        """Why the search should stop now although budget is left: the deadline, or a dead endpoint."""
        if self.parts and self.parts[-1].failures.get("deadline_exceeded"):
            return "deadline"
        if self.dead_calls >= DEAD_CALLS:
            return "endpoint_failing"
        return None

    def test(self, profiles: Sequence[Record]) -> list[tuple[bool | None, DiscriminationExample]]:
        """Per profile: discriminating or not (``None`` when a probe failed), and its example."""
        variants = [{**p, **combo} for p in profiles for combo in self.combos]
        scored: Scored = self.scorer.score(variants)
        self.used += len(variants)
        self.parts.append(scored.accounting)
        self.dead_calls = self.dead_calls + 1 if scored.accounting.answered == 0 else 0
        k, out = len(self.combos), []
        for i, profile in enumerate(profiles):
            span = slice(i * k, (i + 1) * k)
            decisions = scored.decisions[span]
            discriminates = None if any(d is None for d in decisions) else len(set(decisions)) > 1
            example = DiscriminationExample(
                profile={f: v for f, v in profile.items() if f not in self.combos[0]},
                variants=tuple(zip([dict(c) for c in self.combos], scored.scores[span], decisions, strict=True)))
            out.append((discriminates, example))
        return out


def _merged(parts: Sequence[Accounting]) -> Accounting:
    """One accounting for every call of the searches."""
    failures: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for a in parts:
        failures.update(a.failures)
        statuses.update(a.http_statuses)
    return Accounting(
        sent=sum(a.sent for a in parts), answered=sum(a.answered for a in parts),
        failed=sum(a.failed for a in parts), failures=dict(sorted(failures.items())),
        http_statuses=dict(sorted(statuses.items())), requests=sum(a.requests for a in parts),
        retries=sum(a.retries for a in parts), elapsed_s=round(sum(a.elapsed_s for a in parts), 4),
        deadline_s=parts[0].deadline_s if parts else 0.0, retries_denied=sum(a.retries_denied for a in parts),
        gave_up=next((a.gave_up for a in parts if a.gave_up), None))


def _key(example: DiscriminationExample) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in example.profile.items()))


class DiscriminationSearch:
    """Run the requested searches against the scorer; deterministic given the seed."""

    def __init__(self, *, request_id: str, scorer: Scorer, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.request_id = request_id
        self.scorer = scorer
        self.clock = clock

    def run(self, request: DiscriminationRequest) -> DiscriminationReport:
        rng = np.random.default_rng(request.seed)
        sampler = sampler_for(request.generator)
        names = list(request.protected_values)
        combos = [dict(zip(names, values, strict=True))
                  for values in itertools.product(*(request.protected_values[n] for n in names))]
        budgets: list[_Budget] = []
        causal = directed = None
        if "causal" in request.methods:
            budget = _Budget(self.scorer, combos, request.max_probes)
            budgets.append(budget)
            causal = self._causal(request, sampler, budget, rng)
        if "directed" in request.methods:
            searched = _Budget(self.scorer, combos, request.max_probes)
            random = _Budget(self.scorer, combos, request.max_probes)
            budgets += [searched, random]
            directed = self._directed(request, sampler, searched, random, rng)
        accounting = _merged([a for b in budgets for a in b.parts])
        if accounting.sent and not accounting.answered:
            raise ModelUnavailable.with_accounting("probes", accounting)
        findings = judge(_candidates(request, causal, directed), request.policy)
        return DiscriminationReport(
            verdict=verdict(findings), findings=findings,
            causal=causal, directed=directed, accounting=accounting,
            stress=StressRecord(request_id=self.request_id, created_at=self.clock().isoformat(timespec="seconds"),
                                generator=request.generator.kind, seed=request.seed,
                                policy=request.policy, versions=VERSIONS),
        )

    def _causal(self, request: DiscriminationRequest, sampler: Sampler, budget: _Budget,
                rng: np.random.Generator) -> Causal:
        tested = found = 0
        examples: list[DiscriminationExample] = []
        stopped = "budget"
        while budget.room() > 0:
            batch = min(request.batch_profiles, budget.room())
            for discriminates, example in budget.test(sampler.sample(None, batch, rng)):
                if discriminates is None:
                    continue
                tested += 1
                if discriminates:
                    found += 1
                    if len(examples) < request.examples:
                        examples.append(example)
            interval = wilson(np.array([found]), np.array([tested]), request.alpha)
            if tested and (interval.high[0] - interval.low[0]) / 2 <= request.precision:
                stopped = "precision"
                break
            if (reason := budget.stop_reason()) is not None:
                stopped = reason
                break
        rate = rate_estimate(float(found), float(tested), request.alpha)
        return Causal(rate=rate, profiles_tested=tested, discriminatory=found, probes=budget.used, stopped=stopped,
                      examples=tuple(examples))

    def _directed(self, request: DiscriminationRequest, sampler: Sampler, searched: _Budget, random: _Budget,
                  rng: np.random.Generator) -> Directed:
        protected = set(request.protected_values)
        bounds = {k: v for k, v in sampler.numeric_bounds().items() if k not in protected}
        categories = _categories(sampler, protected)
        fields = sorted(set(bounds) | set(categories))
        weights = np.ones(len(fields))
        found: dict[tuple[tuple[str, str], ...], DiscriminationExample] = {}
        seeds: list[Record] = []
        tested_directed = 0
        global_budget = int(request.max_probes * request.directed_global_share)
        while searched.room() > 0 and searched.stop_reason() is None:
            batch = min(request.batch_profiles, searched.room())
            moved: list[int | None]
            if not seeds or searched.used < global_budget:  # global phase: random profiles
                candidates, moved = sampler.sample(None, batch, rng), [None] * batch
            else:  # local phase: perturb a found profile in a field chosen by its success so far
                picks = [seeds[int(rng.integers(len(seeds)))] for _ in range(batch)]
                chosen = [int(rng.choice(len(fields), p=weights / weights.sum())) for _ in range(batch)]
                candidates = [_perturb(p, fields[j], bounds, categories, rng)
                              for p, j in zip(picks, chosen, strict=True)]
                moved = list(chosen)
            for (discriminates, example), profile, j in zip(searched.test(candidates), candidates, moved, strict=True):
                if discriminates is None:
                    continue
                tested_directed += 1
                if discriminates and _key(example) not in found:
                    found[_key(example)] = example
                    seeds.append(profile)
                    if j is not None:
                        weights[j] += REWARD
        random_found: dict[tuple[tuple[str, str], ...], DiscriminationExample] = {}
        tested_random = hits_random = 0
        while random.room() > 0 and random.stop_reason() is None and searched.stop_reason() != "endpoint_failing":
            drawn = sampler.sample(None, min(request.batch_profiles, random.room()), rng)
            for discriminates, example in random.test(drawn):
                if discriminates is None:
                    continue
                tested_random += 1
                if discriminates:
                    hits_random += 1
                    random_found.setdefault(_key(example), example)
        ratio = len(found) / len(random_found) if random_found else None
        return Directed(
            budget=request.max_probes, directed_found=len(found), random_found=len(random_found),
            directed_probes=searched.used, random_probes=random.used,
            directed_rate=rate_estimate(float(len(found)), float(tested_directed), request.alpha),
            random_rate=rate_estimate(float(len(random_found)), float(tested_random), request.alpha), ratio=ratio,
            examples=tuple(list(found.values())[: request.examples]), random_discriminating=hits_random,
            random_tested=tested_random, stopped=searched.stop_reason() or random.stop_reason() or "budget")


def _candidates(request: DiscriminationRequest, causal: Causal | None, directed: Directed | None) -> list[Candidate]:
    """The causal discrimination rate against each rule: from the causal search, else from the directed
    search's random-sampling baseline (an unbiased sample of the same population)."""
    if causal is not None:
        found, tested = causal.discriminatory, causal.profiles_tested
    elif directed is not None:
        found, tested = directed.random_discriminating, directed.random_tested
    else:
        return []
    names = tuple(request.protected_values)
    key = GroupKey(names, tuple("varied" for _ in names))
    outcomes = np.r_[np.ones(found), np.zeros(tested - found)]
    out = []
    for rule in request.policy.rules:
        parity = flip_rate_test(outcomes, rule.threshold, request.alpha)
        measure = Proportion(np.array([float(found)]), np.array([float(tested)])) if tested else None
        out.append(Candidate(rule=rule, group=key, reference=key, n=tested, reference_n=tested, value=parity.value,
                             measure=measure, parity=parity, paired=True, reason=parity.reason))
    return out


def _categories(sampler: Sampler, protected: set[str]) -> dict[str, list[Any]]:
    if isinstance(sampler, CopulaSampler):
        return {c: cats for c, cats in sampler.categories.items()
                if c not in protected and c not in sampler.name_fields() and len(cats) > 1}
    return {f.name: list(f.categories) for f in sampler.fields
            if f.categories and f.name not in protected and len(f.categories) > 1}


def _perturb(profile: Record, field: str, bounds: Mapping[str, tuple[float, float, bool]],
             categories: Mapping[str, list[Any]], rng: np.random.Generator) -> Record:
    """Move one non-protected field a small step (numeric) or to another category."""
    out = dict(profile)
    if field in bounds:
        low, high, is_int = bounds[field]
        step = max(1.0 if is_int else 0.0, STEP * (high - low)) * (1 if rng.uniform() < 0.5 else -1)
        value = float(np.clip((out.get(field) or low) + step, low, high))
        out[field] = int(round(value)) if is_int else value
    else:
        others = [c for c in categories[field] if c != out.get(field)]
        out[field] = others[int(rng.integers(len(others)))]
    return out
