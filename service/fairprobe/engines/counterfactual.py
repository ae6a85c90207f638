"""Counterfactual probes: send each profile under every name group (or attribute value), compare paired.

``NameSwapProbe`` changes only the name; ``AttributeFlipProbe`` changes only a protected attribute (and
its named proxies). Both send every variant through the scorer they are handed, account for every
probe, and judge the paired differences against the policy exactly as the dataset audit does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from fairprobe.domain.endpoint import Scored, Scorer
from fairprobe.domain.findings import Disparity, Estimate
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.names import NameGroup
from fairprobe.domain.policy import Policy
from fairprobe.domain.probes import (
    Comparison,
    FlipRequest,
    NameSlots,
    NameSwapRequest,
    ProbeGroup,
    ProbeRecord,
    ProbeReport,
    ProfileGap,
)
from fairprobe.engines.audit import VERSIONS
from fairprobe.engines.measures import mean_estimate, rate_estimate
from fairprobe.engines.policy import Candidate, judge, verdict
from fairprobe.errors import ModelUnavailable
from fairprobe.stats.bounds import Measure, PairedMean, Proportion
from fairprobe.stats.paired import flip_rate_test, paired_decisions, paired_scores

__all__ = ["FLIP_RATE", "MEAN_SCORE_DIFFERENCE", "POSITIVE_RATE_DIFFERENCE", "PROBE_METRICS", "RANK_BIASED_OVERLAP",
           "AttributeFlipProbe", "NameSwapProbe", "answered_at_all", "jaccard", "rank_biased_overlap"]

MEAN_SCORE_DIFFERENCE = "mean_score_difference"
POSITIVE_RATE_DIFFERENCE = "positive_rate_difference"
FLIP_RATE = "flip_rate"
RANK_BIASED_OVERLAP = "rank_biased_overlap"
#: RBO's persistence: the weight of rank d is p^(d-1) (Webber et al. 2010); 0.9 puts ~86% on the top 10
RBO_P = 0.9
#: the metrics a probe policy may bound, with what each means
PROBE_METRICS: Mapping[str, str] = {
    MEAN_SCORE_DIFFERENCE: "mean over profiles of score(group) - score(reference), paired",
    POSITIVE_RATE_DIFFERENCE: "mean over profiles of positive share(group) - positive share(reference), paired",
    FLIP_RATE: "share of profiles whose decision (or segment, or list) changes between group and reference",
    RANK_BIASED_OVERLAP: "output 'list': mean over profiles of the rank-biased overlap of the group's list with "
                         "the reference's (1: the same list)",
}
NAME_SLOTS = re.compile(r"\{(first_name|last_name|full_name)\}")
Clock = Callable[[], datetime]


@dataclass(frozen=True, eq=False)
class _Arm:
    """Answers of every profile under one condition: (profiles, slots) arrays, NaN where none."""

    key: GroupKey
    names: tuple[str, ...]
    scores: np.ndarray
    decisions: np.ndarray
    rows: np.ndarray  # bool (profiles,): the profiles this arm covers
    answers: np.ndarray | None = None  # object (profiles, slots): segments or item tuples, when the output has them


@dataclass(frozen=True, eq=False)
class _Pairing:
    comparison: Comparison
    changes: np.ndarray  # per paired profile: share of slots whose decision changed
    score_gaps: np.ndarray  # per paired profile: score(group) - score(reference)
    decision_gaps: np.ndarray  # per paired profile: positive share(group) - positive share(reference)
    overlaps: np.ndarray | None = None  # output list: per paired profile, mean rank-biased overlap


def _answers(scored: Scored, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Scores and decisions (1.0/0.0) laid out by ``index`` (-1: no probe), NaN for failed probes; the raw
    answers (segments, item lists) the same way when the output has them."""
    scores = np.array([np.nan if s is None else s for s in scored.scores] + [np.nan], dtype=float)
    decisions = np.array([np.nan if d is None else float(d) for d in scored.decisions] + [np.nan], dtype=float)
    answers = None
    if scored.answers:
        answers = np.empty(len(scored.answers) + 1, dtype=object)
        answers[:-1] = list(scored.answers)
        answers = answers[index]
    return scores[index], decisions[index], answers


def rank_biased_overlap(first: tuple[Any, ...], second: tuple[Any, ...], p: float = RBO_P) -> float:
    """Rank-biased overlap to the depth of the longer list, normalized so identical lists give 1:
    (1 - p) / (1 - p^k) * sum over d <= k of p^(d-1) |first[:d] & second[:d]| / d."""
    k = max(len(first), len(second))
    if k == 0:
        return 1.0
    seen_a: set[Any] = set()
    seen_b: set[Any] = set()
    shared = 0
    total = 0.0
    for d in range(k):
        a = first[d] if d < len(first) else None
        b = second[d] if d < len(second) else None
        if a is not None and a == b:
            shared += 1
        else:
            shared += (a is not None and a in seen_b) + (b is not None and b in seen_a)
        if a is not None:
            seen_a.add(a)
        if b is not None:
            seen_b.add(b)
        total += p**d * shared / (d + 1)
    return float((1 - p) * total / (1 - p**k))


def jaccard(first: tuple[Any, ...], second: tuple[Any, ...]) -> float:
    a, b = set(first), set(second)
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def answered_at_all(scored: Scored) -> Scored:
    """``scored`` itself, or a 502 problem with the accounting when the model answered no probe."""
    if scored.accounting.sent and not scored.accounting.answered:
        raise ModelUnavailable.with_accounting("probes", scored.accounting)
    return scored


def _group_metrics(arm: _Arm, alpha: float) -> tuple[int, int, dict[str, Estimate]]:
    scores, decisions = arm.scores[arm.rows], arm.decisions[arm.rows]
    answered = ~np.isnan(scores)
    has = answered.any(axis=1)
    per_profile = np.array([row[ok].mean() for row, ok in zip(scores[has], answered[has], strict=True)])
    metrics = {
        "mean_score": mean_estimate(per_profile, alpha),
        "positive_rate": rate_estimate(float(np.nansum(decisions)), float(answered.sum()), alpha,
                                       method="wilson_over_probes"),
    }
    return int(has.sum()), int(answered.sum()), metrics


def _pair(treated: _Arm, control: _Arm, rows: np.ndarray, ids: Sequence[str], alpha: float, worst: int) -> _Pairing:
    """Compare ``treated`` with ``control`` on ``rows``, slot by slot where both answered."""
    ts, td = treated.scores[rows], treated.decisions[rows]
    cs, cd = control.scores[rows], control.decisions[rows]
    both = ~np.isnan(ts) & ~np.isnan(cs)
    usable = both.any(axis=1)
    count = np.where(both, 1.0, 0.0).sum(axis=1)[usable]

    def per_profile(values: np.ndarray) -> np.ndarray:
        return np.asarray(np.where(both, values, 0.0).sum(axis=1)[usable] / count, dtype=float)

    t_score, c_score = per_profile(np.nan_to_num(ts)), per_profile(np.nan_to_num(cs))
    t_dec, c_dec = per_profile(np.nan_to_num(td)), per_profile(np.nan_to_num(cd))
    overlaps = None
    if treated.answers is not None and control.answers is not None:
        # a changed segment, or a changed list, is a flip even when the decision stays the same
        ta, ca = treated.answers[rows], control.answers[rows]
        changed = np.array([[both[i, j] and ta[i, j] != ca[i, j] for j in range(ta.shape[1])]
                            for i in range(ta.shape[0])], dtype=float).reshape(ta.shape)
        changes = per_profile(changed)
        if any(isinstance(v, tuple) for v in ta.ravel()):
            rbo = np.array([[rank_biased_overlap(ta[i, j], ca[i, j]) if both[i, j] else 0.0
                             for j in range(ta.shape[1])] for i in range(ta.shape[0])]).reshape(ta.shape)
            jac = np.array([[jaccard(ta[i, j], ca[i, j]) if both[i, j] else 0.0
                             for j in range(ta.shape[1])] for i in range(ta.shape[0])]).reshape(ta.shape)
            overlaps = per_profile(rbo)
    else:
        changes = per_profile((np.nan_to_num(td) != np.nan_to_num(cd)).astype(float))
    rate = flip_rate_test(changes, 0.0, alpha)
    metrics = {
        MEAN_SCORE_DIFFERENCE: paired_scores(t_score, c_score, alpha),
        POSITIVE_RATE_DIFFERENCE: paired_decisions(t_dec, c_dec, alpha),
        # the comparison shows the rate and its interval; findings test it against each rule's bound
        FLIP_RATE: replace(rate, p_value=None, test=None),
    }
    if overlaps is not None:
        metrics[RANK_BIASED_OVERLAP] = _as_disparity(mean_estimate(overlaps, alpha))
        metrics["jaccard"] = _as_disparity(mean_estimate(per_profile(jac), alpha))
    profile_ids = np.asarray(ids, dtype=object)[rows][usable]
    gap = t_score - c_score
    order = np.lexsort((-changes, -np.abs(gap)))
    worst_profiles = tuple(
        ProfileGap(str(profile_ids[i]), float(gap[i]), float(changes[i]))
        for i in order[:worst] if gap[i] != 0 or changes[i] > 0
    )
    comparison = Comparison(group=treated.key, reference=control.key, n=int(usable.sum()),
                            excluded=int(rows.sum() - usable.sum()), metrics=metrics, worst=worst_profiles)
    return _Pairing(comparison, changes, gap, t_dec - c_dec, overlaps)


def _as_disparity(estimate: Estimate) -> Disparity:
    """A comparison's summary of per-profile values (an overlap) in the shape of its other metrics."""
    return Disparity(estimate.value, estimate.ci_low, estimate.ci_high, estimate.ci_method, None, None,
                     estimate.reason, estimate.ci_level)


def _paired_mean(gaps: np.ndarray) -> PairedMean | None:
    """The paired t measure of per-profile gaps (none below two profiles: no spread to judge by)."""
    if gaps.size < 2:
        return None
    return PairedMean(*(np.array([x]) for x in (gaps.mean(), gaps.var(ddof=1), gaps.size, 0.0, 0.0)))


def _judge(pairings: Sequence[_Pairing], policy: Policy, favorable_is_positive: bool) -> list[Candidate]:
    out = []
    for rule in policy.rules:
        for pairing in pairings:
            c = pairing.comparison
            if rule.attributes is not None and not set(c.group.attributes) <= set(rule.attributes):
                continue
            measure: Measure | None
            if rule.metric == RANK_BIASED_OVERLAP:
                if pairing.overlaps is None:
                    continue
                parity = c.metrics[RANK_BIASED_OVERLAP]
                measure = _paired_mean(pairing.overlaps)
                favours = True
            elif rule.metric == FLIP_RATE:
                parity = flip_rate_test(pairing.changes, rule.threshold, policy.alpha)
                measure = Proportion(np.array([pairing.changes.sum()]), np.array([float(pairing.changes.size)])) \
                    if pairing.changes.size else None
                favours = None
            else:
                parity = c.metrics[rule.metric]
                gaps = pairing.score_gaps if rule.metric == MEAN_SCORE_DIFFERENCE else pairing.decision_gaps
                measure = _paired_mean(gaps)
                favours = favorable_is_positive
            out.append(Candidate(rule=rule, group=c.group, reference=c.reference, n=c.n, reference_n=c.n,
                                 value=parity.value, measure=measure, parity=parity, higher_favours=favours,
                                 paired=True, reason=parity.reason))
    return out


def _report(kind: str, request_id: str, clock: Clock, arms: Sequence[_Arm], pairings: Sequence[_Pairing],
            scored: Scored, policy: Policy, seed: int, endpoint_format: str, profiles: int,
            reference_keys: set[GroupKey], favorable_is_positive: bool, bank: str | None = None,
            names_per_group: int | None = None) -> ProbeReport:
    groups = []
    for arm in arms:
        n, answered, metrics = _group_metrics(arm, policy.alpha)
        groups.append(ProbeGroup(key=arm.key, is_reference=arm.key in reference_keys, profiles=n,
                                 probes=int(arm.rows.sum()) * arm.scores.shape[1], answered=answered,
                                 names=arm.names, metrics=metrics))
    findings = judge(_judge(pairings, policy, favorable_is_positive), policy)
    return ProbeReport(
        verdict=verdict(findings), findings=findings, groups=tuple(groups),
        comparisons=tuple(p.comparison for p in pairings), accounting=scored.accounting,
        probe=ProbeRecord(request_id=request_id, created_at=clock().isoformat(timespec="seconds"), kind=kind,
                          endpoint_format=endpoint_format, profiles=profiles, names_per_group=names_per_group,
                          bank=bank, policy=policy, seed=seed, versions=VERSIONS),
    )


def with_name(profile: Mapping[str, Any], slots: NameSlots, first: str, last: str | None) -> dict[str, Any]:
    """The profile with only its name changed (fields and ``{first_name}``-style slots in text fields)."""
    record = dict(profile)
    own_last = str(profile.get(slots.last_name) or "") if slots.last_name else ""
    if slots.full_name:
        rest = str(profile.get(slots.full_name) or "").split(maxsplit=1)[1:]
        full = f"{first} {last}" if last is not None else " ".join([first, *rest])
    else:
        full = " ".join(p for p in (first, last if last is not None else own_last) if p)
    if slots.first_name:
        record[slots.first_name] = first
    if slots.last_name and last is not None:
        record[slots.last_name] = last
    if slots.full_name:
        record[slots.full_name] = full
    values = {"first_name": first, "last_name": last if last is not None else own_last, "full_name": full}
    for field in slots.text_fields:
        record[field] = NAME_SLOTS.sub(lambda m: values[m.group(1)], str(profile.get(field, "")))
    return record


def sample_names(group: NameGroup, k: int, rng: np.random.Generator) -> list[tuple[str, str | None]]:
    """``k`` distinct first names (with surnames when the bank has them), seeded."""
    firsts = rng.choice(len(group.first_names), size=k, replace=False)
    if not group.last_names:
        return [(group.first_names[i].name, None) for i in firsts]
    lasts = rng.choice(len(group.last_names), size=k, replace=len(group.last_names) < k)
    return [(group.first_names[i].name, group.last_names[j].name) for i, j in zip(firsts, lasts, strict=True)]


class NameSwapProbe:
    """Send every profile under ``names_per_group`` names of every group; compare each group with the reference.

    Parameters
    ----------
    request_id
        Echoed in the report.
    scorer
        The model endpoint (``domain.endpoint.Scorer``).
    clock
        The report's timestamp.
    """

    def __init__(self, *, request_id: str, scorer: Scorer, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.request_id = request_id
        self.scorer = scorer
        self.clock = clock

    def run(self, request: NameSwapRequest) -> ProbeReport:
        rng = np.random.default_rng(request.seed)
        k, records = request.names_per_group, request.profiles.records
        samples = [sample_names(g, k, rng) for g in request.groups]
        variants = [with_name(profile, request.slots, first, last)
                    for profile in records for names in samples for first, last in names]
        scored = answered_at_all(self.scorer.score(variants))
        p, g = len(records), len(request.groups)
        index = np.arange(p * g * k).reshape(p, g, k)
        scores, decisions, answers = _answers(scored, index)
        arms = [
            _Arm(key=GroupKey(tuple(group.attributes), tuple(group.attributes.values())),
                 names=tuple(" ".join(x for x in pair if x) for pair in samples[j]),
                 scores=scores[:, j, :], decisions=decisions[:, j, :], rows=np.ones(p, dtype=bool),
                 answers=None if answers is None else answers[:, j, :])
            for j, group in enumerate(request.groups)
        ]
        ref = next(j for j, group in enumerate(request.groups) if group.id == request.reference)
        pairings = [_pair(arm, arms[ref], arm.rows, request.profiles.ids, request.policy.alpha, request.worst)
                    for j, arm in enumerate(arms) if j != ref]
        return _report("name_swap", self.request_id, self.clock, arms, pairings, scored, request.policy,
                       request.seed, request.endpoint.format.value, p, {arms[ref].key},
                       request.endpoint.favorable_is_positive, request.bank, k)


class AttributeFlipProbe:
    """Send every profile as it is and with each protected attribute set to each other value.

    A direction ``a -> b`` compares, on the profiles whose value is ``a``, the answer with ``b`` against
    the original answer. Proxy fields change together with the attribute when the request names them.
    """

    def __init__(self, *, request_id: str, scorer: Scorer, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.request_id = request_id
        self.scorer = scorer
        self.clock = clock

    def run(self, request: FlipRequest) -> ProbeReport:
        records = request.profiles.records
        p = len(records)
        variants: list[dict[str, Any]] = [dict(r) for r in records]
        plan: list[tuple[int, Any, Any, list[int]]] = []  # flip index, a, b, variant index per profile (-1: none)
        for f, flip in enumerate(request.flips):
            for a in flip.values:
                for b in flip.values:
                    if a == b:
                        continue
                    where = [-1] * p
                    for i, record in enumerate(records):
                        if record.get(flip.attribute) == a:
                            changed = {**record, flip.attribute: b}
                            for proxy, by_value in flip.proxies.items():
                                changed[proxy] = by_value[str(b)]
                            where[i] = len(variants)
                            variants.append(changed)
                    plan.append((f, a, b, where))
        scored = answered_at_all(self.scorer.score(variants))
        original_scores, original_decisions, original_answers = _answers(scored, np.arange(p)[:, None])
        arms: list[_Arm] = []
        pairings: list[_Pairing] = []
        for flip in request.flips:
            for a in flip.values:
                rows = np.array([r.get(flip.attribute) == a for r in records], dtype=bool)
                arms.append(_Arm(GroupKey((flip.attribute,), (a,)), (), original_scores, original_decisions, rows,
                                 original_answers))
        for f, a, b, where in plan:
            attribute = request.flips[f].attribute
            rows = np.array([w >= 0 for w in where], dtype=bool)
            s, d, answers = _answers(scored, np.array(where)[:, None])
            treated = _Arm(GroupKey((attribute,), (b,)), (), s, d, rows, answers)
            control = _Arm(GroupKey((attribute,), (a,)), (), original_scores, original_decisions, rows,
                           original_answers)
            pairings.append(_pair(treated, control, rows, request.profiles.ids, request.policy.alpha, request.worst))
        return _report("attribute_flip", self.request_id, self.clock, arms, pairings, scored, request.policy,
                       request.seed, request.endpoint.format.value, p, set(), request.endpoint.favorable_is_positive)
