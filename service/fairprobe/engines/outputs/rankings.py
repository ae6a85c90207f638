"""Recommendation lists and rankings: what each group of people is shown, and how providers are exposed.

Customer side: every person's list is reduced to per-person measures (length, distinct categories, category
entropy, intra-list diversity, the share of high-value items and their position-discounted exposure, NDKL
against the provider target), and those are compared across groups exactly as a continuous outcome is
(``means.compare_means``: per-person values, so Student's and Welch's intervals are over people). Catalogue
coverage per group (distinct items shown to the group over the catalogue) has a Poisson bootstrap interval
over people. Item side: each provider's share of exposure (DCG weights 1 / log2(1 + position)) against its
target share (given, else its share of relevance, else its share of the listed items), Singh & Joachims
(2018); intervals and tests from a Poisson bootstrap over people (standard error of the log ratio).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.diagnostics import Section
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.outputs import OutputKind, RankedLists
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for
from fairprobe.engines.groups import Partition
from fairprobe.engines.outputs.means import Comparison, compare_means, moment_sums
from fairprobe.engines.outputs.outcomes import fold
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import Normal, z_for

__all__ = ["BOOTSTRAP", "RANKING_METRICS", "per_person", "rankings"]

#: Poisson bootstrap replicates over people (coverage and provider exposure share one set of weights)
BOOTSTRAP = 200
#: P(Poisson(1) <= k) for k = 0..7: a uniform above the k-th value adds one to the weight
_POISSON_CDF = np.cumsum([np.exp(-1.0) / math.factorial(k) for k in range(8)]).astype(np.float32)
#: each per-person quantity's policy metrics and how they compare a group with its reference
RANKING_METRICS: dict[str, dict[str, Comparison]] = {
    "list_length": {},
    "distinct_categories": {"distinct_categories_ratio": "ratio"},
    "category_entropy": {},
    "intra_list_diversity": {"intra_list_diversity_difference": "difference"},
    "high_value_share": {},
    "high_value_exposure": {"high_value_exposure_ratio": "ratio", "high_value_exposure_difference": "difference"},
    "ndkl": {},
}

METHOD = ("Per person: list length; distinct categories; category entropy (bits); intra-list diversity (the share "
          "of item pairs from different categories, 0 for a one-item list); high-value share; high-value exposure "
          "(sum of 1/log2(1 + position) over high-value items over the same sum over the list); NDKL (Geyik et al. "
          "2019: sum over i of KL(providers in the top i || target) / log2(i + 1), normalized). Groups compare "
          "these per-person values as a continuous outcome: Student's t per group, Welch's difference, the delta-"
          "method ratio. Catalogue coverage per group and each provider's exposure share over its target share: "
          "Poisson bootstrap over people (200 replicates, seeded, shared by both); provider findings use the "
          "bootstrap standard error of the log ratio (Wald).")


def _discount(position: np.ndarray) -> np.ndarray:
    return 1.0 / np.log2(1.0 + position.astype(float))


def per_person(lists: RankedLists, people: int, target: np.ndarray | None) -> dict[str, np.ndarray]:
    """Every per-person quantity (NaN-free: a person without a category or high-value column gets none)."""
    person = lists.person
    length = np.bincount(person, minlength=people).astype(float)
    out: dict[str, np.ndarray] = {"list_length": length}
    if lists.category is not None:
        c = len(lists.category_levels)
        pair_counts = np.bincount(person * c + lists.category, minlength=people * c).reshape(people, c)
        out["distinct_categories"] = (pair_counts > 0).sum(axis=1).astype(float)
        present = np.flatnonzero(pair_counts)  # the (person, category) pairs that occur
        owner = present // c
        share = pair_counts.ravel()[present] / length[owner]
        out["category_entropy"] = -np.bincount(owner, weights=share * np.log2(share), minlength=people)
        with np.errstate(divide="ignore", invalid="ignore"):
            same = (pair_counts * (pair_counts - 1)).sum(axis=1) / (length * (length - 1))
        out["intra_list_diversity"] = np.where(length > 1, 1.0 - same, 0.0)
    if lists.high_value is not None:
        d = _discount(lists.position)
        hv = lists.high_value.astype(float)
        out["high_value_share"] = np.bincount(person, weights=hv, minlength=people) / np.maximum(length, 1)
        out["high_value_exposure"] = (np.bincount(person, weights=hv * d, minlength=people)
                                      / np.maximum(np.bincount(person, weights=d, minlength=people), 1e-300))
    if lists.provider is not None and target is not None:
        out["ndkl"] = _ndkl(lists, people, target)
    return out


def _ndkl(lists: RankedLists, people: int, target: np.ndarray) -> np.ndarray:
    """Normalized discounted KL divergence of each list's provider mix from ``target`` (Geyik et al. 2019)."""
    assert lists.provider is not None
    k = len(lists.provider_levels)
    rows = len(lists.person)
    one_hot = np.zeros((rows, k))
    one_hot[np.arange(rows), lists.provider] = 1.0
    cumulative = np.cumsum(one_hot, axis=0)
    # rows are sorted by person: each row's list starts at the last row that opens a list
    opens = np.r_[True, lists.person[1:] != lists.person[:-1]]
    starts = np.maximum.accumulate(np.where(opens, np.arange(rows), 0))
    top = cumulative - np.where((starts > 0)[:, None], cumulative[np.maximum(starts - 1, 0)], 0.0)
    rank = (np.arange(rows) - starts + 1).astype(float)
    share = top / rank[:, None]
    # 0 log 0 = 0: a provider absent from the top i adds nothing
    kl = (share * (np.log(np.maximum(share, 1e-300)) - np.log(np.maximum(target, 1e-12)))).sum(axis=1)
    d = _discount(rank)
    return np.bincount(lists.person, weights=d * kl, minlength=people) / np.maximum(
        np.bincount(lists.person, weights=d, minlength=people), 1e-300)


def rankings(request: AuditRequest, parts: Sequence[Partition], cells: np.ndarray,
             cell_groups: Sequence[np.ndarray], n_cells: int) -> Section:
    lists, spec = request.outputs.lists, request.outputs.ranking_spec
    assert lists is not None and spec is not None
    policy = request.policy
    people = len(request.frame)
    target, target_source = _target(lists, spec.target_shares)
    quantities = per_person(lists, people, target)
    ones = np.ones(people)
    group_rows: list[dict[str, Any]] = []
    comparison_rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    person_groups = [g[cells] for g in cell_groups]
    for quantity, values in quantities.items():
        sums = moment_sums(cells, n_cells, values, ones)
        by_part = [fold(sums, g, len(part.keys)) for part, g in zip(parts, cell_groups, strict=True)]
        rows, comparisons, found = compare_means(
            quantity, by_part, parts, policy, RANKING_METRICS[quantity],
            higher_favours=None if quantity in ("list_length", "ndkl") else True,
            rows=(values, person_groups))
        group_rows += rows
        comparison_rows += comparisons
        candidates += found
    weights = poisson_weights(np.random.default_rng(request.seed), BOOTSTRAP, people)
    coverage = _coverage(lists, parts, person_groups, request.policy.alpha, weights > 0)
    providers: list[dict[str, Any]] = []
    if lists.provider is not None and target is not None:
        providers, found = _providers(lists, target, target_source, people, request, weights)
        candidates += found
    notes = []
    if lists.category is None:
        notes.append("no category column: diversity measures need one")
    if lists.high_value is None:
        notes.append("no high_value column: high-value share and exposure need one")
    if lists.provider is None:
        notes.append("no provider column: provider exposure and NDKL need one")
    tables = {"groups": tuple(group_rows), "comparisons": tuple(comparison_rows), "coverage": tuple(coverage),
              "providers": tuple(providers)}
    return Section(OutputKind.RANKINGS, METHOD, tables, judged(candidates, policy), tuple(notes), needs_rows=True)


def _target(lists: RankedLists, given: Any) -> tuple[np.ndarray | None, str]:
    if lists.provider is None:
        return None, "none"
    k = len(lists.provider_levels)
    if given:
        return np.array([float(given.get(level, 0.0)) for level in lists.provider_levels]), "target_shares"
    if lists.relevance is not None:
        relevance = np.bincount(lists.provider, weights=lists.relevance, minlength=k)
        if relevance.sum() > 0:
            return relevance / relevance.sum(), "relevance"
    listed = np.bincount(lists.provider, minlength=k).astype(float)
    return listed / listed.sum(), "listed_items"


def poisson_weights(rng: np.random.Generator, replicates: int, people: int) -> np.ndarray:
    """Poisson(1) bootstrap weights, ``replicates`` x ``people`` (float32): one uniform per weight, counted
    against the Poisson CDF up to 8 (P(k > 8) is 1e-6), which costs a tenth of drawing Poissons directly."""
    u = rng.random((replicates, people), dtype=np.float32)
    weights = np.zeros((replicates, people), dtype=np.float32)
    for cut in _POISSON_CDF:
        weights += u > cut
    return weights


def _coverage(lists: RankedLists, parts: Sequence[Partition], person_groups: Sequence[np.ndarray], alpha: float,
              drawn: np.ndarray) -> list[dict[str, Any]]:
    """Distinct items shown to each group over the catalogue (every item listed to anyone), single attributes;
    each replicate's coverage counts the items shown to its drawn people (one sparse product per group)."""
    catalogue = int(np.unique(lists.item).size)
    out = []
    for part, groups in zip(parts, person_groups, strict=True):
        if len(part.attributes) > 1:
            continue
        row_group = groups[lists.person]
        for i, key in enumerate(part.keys):
            rows = row_group == i
            items, owners = lists.item[rows], lists.person[rows]
            members = np.flatnonzero(groups == i)
            local = np.searchsorted(members, owners)
            incidence = sparse.csr_matrix((np.ones(len(items), dtype=np.float32), (local, items)),
                                          shape=(len(members), lists.item_levels))
            # items x replicates: how many drawn members were shown each item
            hits = np.asarray(incidence.T @ drawn[:, members].T.astype(np.float32))
            draws = (hits > 0).sum(axis=0).astype(float) / catalogue if len(members) else np.zeros(0)
            low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2]) if draws.size else (None, None)
            out.append({"attributes": list(part.attributes), "group": key.as_dict(), "people": int(len(members)),
                        "items_shown": int(np.unique(items).size), "catalogue": catalogue,
                        "coverage": np.unique(items).size / catalogue, "ci_low": finite(low), "ci_high": finite(high),
                        "ci_level": 1 - alpha, "ci_method": f"poisson_bootstrap_{len(drawn)}_percentile"})
    return out


def _providers(lists: RankedLists, target: np.ndarray, source: str, people: int, request: AuditRequest,
               weights: np.ndarray) -> tuple[list[dict[str, Any]], list[tuple[Candidate, bool]]]:
    assert lists.provider is not None
    alpha, policy = request.policy.alpha, request.policy
    k = len(lists.provider_levels)
    d = _discount(lists.position)
    by_person = np.bincount(lists.person * k + lists.provider, weights=d, minlength=people * k).reshape(people, k)
    exposure = by_person.sum(axis=0)
    share = exposure / exposure.sum()
    boot = (weights @ by_person.astype(np.float32)).astype(float)
    boot = boot[boot.sum(axis=1) > 0]  # a replicate that drew no one (tiny data) says nothing
    boot_share = boot / boot.sum(axis=1, keepdims=True)
    z = z_for(alpha / 2)
    rows, candidates = [], []
    for j, level in enumerate(lists.provider_levels):
        ratio = share[j] / target[j] if target[j] > 0 else None
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(boot_share[:, j] / target[j]) if target[j] > 0 else np.array([np.nan])
        se = float(np.std(logs[np.isfinite(logs)], ddof=1)) if np.isfinite(logs).sum() > 1 else None
        low, high = (np.quantile(boot_share[:, j] / target[j], [alpha / 2, 1 - alpha / 2])
                     if ratio is not None and len(boot_share) else (None, None))
        rows.append({"provider": level, "items_listed": int(np.sum(lists.provider == j)),
                     "exposure": float(exposure[j]), "exposure_share": float(share[j]),
                     "target_share": float(target[j]),
                     "target": source, "exposure_ratio": finite(ratio), "ci_low": finite(low), "ci_high": finite(high),
                     "ci_level": 1 - alpha, "ci_method": f"poisson_bootstrap_{len(boot)}_percentile",
                     "wald_ci_low": finite(ratio * np.exp(-z * se)) if ratio and se else None,
                     "wald_ci_high": finite(ratio * np.exp(z * se)) if ratio and se else None})
        for rule, counts in rules_for(policy, "provider_exposure_ratio"):
            measure = Normal(np.array([ratio]), np.array([se]), np.array([1.0])) if ratio and se else None
            candidates.append((make_candidate(
                rule, GroupKey(("provider",), (level,)), GroupKey(("target",), (source,)), float(people),
                float(people), finite(ratio), measure, alpha, sizes=(float(people), float(people)),
                higher_favours=True, parity_value=1.0,
                subject=f"Provider {level!r}: exposure share {share[j]:.4g} against its {source} share "
                        f"{target[j]:.4g} over {people} people's lists"), counts))
    return rows, candidates
