"""Worst-subgroup discovery: every subgroup defined by up to ``max_depth`` conditions (attribute = value), at
least one of them on a protected attribute, compared with everyone else, with false-discovery control.

Why an exhaustive search and not AIF360's MDSS bias scan: MDSS finds the single subgroup maximizing a
likelihood score and needs a permutation test to tell whether it is more than noise; an exhaustive search to a
small depth tests every subgroup it could report, so the Benjamini–Hochberg adjustment over all of them (their
number is reported) bounds the share of false alarms among what it flags, and each flagged subgroup comes with
its size, rates, interval and adjusted p-value. Depth 2 over a few dozen columns is a few thousand subgroups:
one ``bincount`` per combination of columns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT, AuditRequest, DataKind
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.groups import GroupKey
from fairprobe.engines.diagnostics.common import code_feature, finite, judged, make_candidate, rules_for, wilson_row
from fairprobe.engines.policy import Candidate
from fairprobe.errors import ValidationFailed
from fairprobe.stats.bounds import RateDifference, signed_limits, z_for
from fairprobe.stats.counts import CountsTable, encode, radix_key
from fairprobe.stats.fdr import benjamini_hochberg

__all__ = ["MAX_COMBINATIONS", "subgroups"]

#: the most combinations of columns one scan may count (each is one pass over the rows)
MAX_COMBINATIONS = 2_000
#: a column the scan conditions on: name, each row's code, the codes' labels, whether it is protected
ScanColumn = tuple[str, np.ndarray, tuple[object, ...], bool]
#: up to this many cells over all the scanned columns, one pass over the rows counts every combination
FULL_TABLE_CELLS = 1 << 20

METHOD = ("Each subgroup's favorable rate (the favorable prediction; the favorable label in a data-only audit) "
          "against everyone else's: a one-sided pooled two-proportion z test of disadvantage, Benjamini-Hochberg "
          "adjusted over every subgroup tested. Features are coded as in the proxies section (categories capped at "
          "20 values, numbers with more than 10 values in quartile bands, missing as a value); subgroups and their "
          "complements need min_support people. Findings judge the reported subgroups' gap against the bound of "
          "subgroup_statistical_parity_difference, adjusted (BH) over every subgroup tested. Sample weights count "
          "through Kish's effective size.")


def _features(request: AuditRequest) -> tuple[list[ScanColumn], list[str]]:
    """(name, codes, levels, False) for every feature the scan may condition on."""
    out = []
    notes = []
    if request.extra is not None:
        for name in request.feature_names:
            series = request.extra[name]
            if series.nunique(dropna=False) <= 1:
                continue
            codes, levels, _ = code_feature(series)
            out.append((name, codes, levels, False))
    if request.kind is DataKind.COUNTS:
        notes.append("a counts table carries no features: the scan covers the protected attributes only")
    return out, notes


def _key(columns: list[ScanColumn], combo: Sequence[int], rows: int) -> np.ndarray:
    """Each row's cell in the table over the columns of ``combo`` (C order: the last column varies fastest)."""
    return radix_key([columns[i][1] for i in combo], [len(columns[i][2]) for i in combo], rows)


def _sums(key: np.ndarray, cells: int, people: np.ndarray, w: np.ndarray, w2: np.ndarray, favorable: np.ndarray,
          unweighted: bool) -> np.ndarray:
    """Per cell: people, weight, squared weight and favorable weight (a ``cells`` x 4 array)."""
    if unweighted:  # people, weights and squared weights are all ones: one count serves the three
        count = np.bincount(key, minlength=cells).astype(float)
        return np.stack([count, count, count, np.bincount(key, weights=favorable, minlength=cells)], axis=1)
    return np.stack([np.bincount(key, weights=v, minlength=cells) for v in (people, w, w2, w * favorable)], axis=1)


def _from_table(table: CountsTable, predicted: bool, fav_pos: bool) -> np.ndarray:
    """The per-cell sums over every protected combination, from the audit's counts table (no pass over rows)."""
    sizes = [len(levels) for levels in table.levels]
    side = 1 if fav_pos else 0  # the counts table's axes say "is the positive label / prediction"
    favorable = table.weight[:, :, side].sum(axis=1) if predicted else table.weight[:, side, :].sum(axis=1)
    per_cell = np.stack([table.people.sum(axis=(1, 2)), table.weight.sum(axis=(1, 2)),
                         table.weight_sq.sum(axis=(1, 2)), favorable], axis=1)
    full = np.zeros((int(np.prod(sizes)), 4))
    np.add.at(full, np.ravel_multi_index(tuple(table.codes.T), sizes), per_cell)
    return full.reshape(*sizes, 4)


def subgroups(request: AuditRequest, table: CountsTable | None = None) -> Section:
    """The scan; ``table`` is the audit's counts table over the protected attributes, which alone gives every
    subgroup's sums when no feature is scanned."""
    alpha = request.policy.alpha
    options = request.diagnostics.scan
    features, notes = _features(request)
    frame = request.frame
    fav_pos = request.roles.favorable_is_positive
    names = tuple(a.name for a in request.protected)
    full: np.ndarray | None = None
    if not features and table is not None and table.attributes == names and \
            np.prod([len(lv) for lv in table.levels], dtype=float) <= FULL_TABLE_CELLS:
        columns: list[ScanColumn] = [(name, np.zeros(0, np.int64), levels, True)
                                     for name, levels in zip(table.attributes, table.levels, strict=True)]
        full = _from_table(table, request.predicted, fav_pos)
    else:
        columns = [(a.name, *encode(frame[a.name], a.bins), True) for a in request.protected] + features
    combos = [c for k in range(1, options.max_depth + 1) for c in itertools.combinations(range(len(columns)), k)
              if any(columns[i][3] for i in c)]
    if len(combos) > MAX_COMBINATIONS:
        raise ValidationFailed.on("scan.max_depth",
                                  f"the scan would count {len(combos)} combinations of columns; "
                                  f"at most {MAX_COMBINATIONS}: lower max_depth or name fewer features")
    every = [len(levels) for _, _, levels, _ in columns]
    if full is None:
        outcome = frame[PREDICTION if request.predicted else LABEL].to_numpy(dtype=bool)
        favorable = outcome if fav_pos else ~outcome
        counts_table = request.kind is DataKind.COUNTS
        people = frame[WEIGHT].to_numpy(dtype=float) if counts_table else np.ones(len(frame))
        w = frame[WEIGHT].to_numpy(dtype=float) if (counts_table or request.roles.weight) else np.ones(len(frame))
        w2 = w if counts_table else w * w
        unweighted = not (counts_table or request.roles.weight)
        # few cells over all the columns at once (protected attributes and a few features): one pass over the
        # rows fills that table, and every combination's sums are its margins; otherwise one pass per combination
        if np.prod(every, dtype=float) <= FULL_TABLE_CELLS:
            full = _sums(_key(columns, range(len(columns)), len(frame)), int(np.prod(every)), people, w, w2,
                         favorable, unweighted).reshape(*every, 4)
        else:
            per_combo = (people, w, w2, favorable, unweighted)
    totals = full.reshape(-1, 4).sum(axis=0) if full is not None else \
        np.array([people.sum(), w.sum(), w2.sum(), (w * favorable).sum()])
    found: list[tuple[tuple[int, ...], np.ndarray, np.ndarray]] = []  # (combo, cell codes, sums per cell)
    for combo in combos:
        sizes = [every[i] for i in combo]
        if full is not None:
            sums = full.sum(axis=tuple(i for i in range(len(columns)) if i not in combo)).reshape(-1, 4)
        else:
            sums = _sums(_key(columns, combo, len(frame)), int(np.prod(sizes)), *per_combo)
        keep = np.flatnonzero((sums[:, 0] >= options.min_support) & (totals[0] - sums[:, 0] >= options.min_support))
        if keep.size:
            found.append((combo, np.stack(np.unravel_index(keep, sizes), axis=1), sums[keep]))
    if not found:
        notes.append(f"no subgroup holds at least {options.min_support} people with as many outside it")
        return Section(SectionName.SUBGROUPS, METHOD, {"subgroups": (), "scan": ({"tested": 0},)}, (), tuple(notes))
    sums = np.concatenate([s for _, _, s in found])
    owner = [(combo, cell) for combo, cells, _ in found for cell in cells]
    n_s = sums[:, 1] ** 2 / sums[:, 2]
    rest_w, rest_w2 = totals[1] - sums[:, 1], totals[2] - sums[:, 2]
    n_c = rest_w**2 / np.maximum(rest_w2, 1e-300)
    p_s, p_c = sums[:, 3] / sums[:, 1], (totals[3] - sums[:, 3]) / np.maximum(rest_w, 1e-300)
    c_s, c_c = p_s * n_s, p_c * n_c
    pooled = (c_s + c_c) / (n_s + n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p_s - p_c) / np.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_c))
    p_value = np.where(np.isfinite(z), sps.norm.cdf(z), 1.0)  # small when the subgroup is disadvantaged
    adjusted = benjamini_hochberg(p_value)
    significant = adjusted < alpha
    order = np.lexsort((p_value, p_s - p_c, ~significant))  # significant first, then the largest gap
    shown = order[:options.top]
    low_s, high_s = wilson_row(c_s[shown], n_s[shown], alpha)
    measure = RateDifference(c_s, n_s, c_c, n_c)
    diff_low, diff_high = signed_limits(measure.take(shown), np.full(len(shown), z_for(alpha / 2)))
    rows: list[dict[str, Any]] = []
    keys: dict[int, GroupKey] = {}
    for j, k in enumerate(shown):
        combo, cell = owner[k]
        subgroup = GroupKey(tuple(columns[i][0] for i in combo),
                            tuple(columns[i][2][c] for i, c in zip(combo, cell, strict=True)))
        keys[int(k)] = subgroup
        rows.append({"subgroup": subgroup.as_dict(), "label": subgroup.label, "depth": len(combo),
                     "protected": [columns[i][0] for i in combo if columns[i][3]], "n": int(round(sums[k, 0])),
                     "favorable_rate": float(p_s[k]), "ci_low": finite(low_s[j]), "ci_high": finite(high_s[j]),
                     "rest_n": int(round(totals[0] - sums[k, 0])), "rest_favorable_rate": float(p_c[k]),
                     "difference": float(p_s[k] - p_c[k]), "difference_ci_low": finite(diff_low[j]),
                     "difference_ci_high": finite(diff_high[j]), "ci_level": 1 - alpha,
                     "p_value": float(p_value[k]), "p_value_adjusted": finite(adjusted[k]),
                     "test": "pooled_z_one_sided_disadvantage", "significant": bool(significant[k])})
    findings = _findings(measure, owner, columns, sums, totals, p_s, p_c, keys, request)
    scan = {"tested": int(len(p_value)), "column_combinations": len(combos), "significant": int(significant.sum()),
            "max_depth": options.max_depth, "min_support": options.min_support,
            "columns": [name for name, _, _, _ in columns], "fdr": "benjamini_hochberg", "alpha": alpha}
    return Section(SectionName.SUBGROUPS, METHOD, {"subgroups": tuple(rows), "scan": (scan,)}, findings,
                   tuple(notes), needs_rows=request.extra is not None)


def _findings(measure: RateDifference, owner: list[tuple[tuple[int, ...], np.ndarray]],
              columns: list[tuple[str, np.ndarray, tuple[object, ...], bool]], sums: np.ndarray, totals: np.ndarray,
              p_s: np.ndarray, p_c: np.ndarray, keys: dict[int, GroupKey], request: AuditRequest) -> tuple[Any, ...]:
    """Every tested subgroup judged against the bound in one family; the reported ones' findings are kept."""
    policy, alpha = request.policy, request.policy.alpha
    everyone_else = GroupKey(("subgroup",), ("everyone else",))
    out = []
    for rule, counts in rules_for(policy, "subgroup_statistical_parity_difference"):
        candidates: list[tuple[Candidate, bool]] = []
        for k in range(len(owner)):
            key = keys.get(k) or GroupKey(("subgroup",), (str(k),))
            n, rest = float(sums[k, 0]), float(totals[0] - sums[k, 0])
            candidates.append((make_candidate(
                rule, key, everyone_else, n, rest, float(p_s[k] - p_c[k]), measure.take(np.array([k])), alpha,
                sizes=(float(measure.n1[k]), float(measure.n2[k])), higher_favours=True,
                subject=f"Subgroup {key.label} (n={int(round(n))}) against everyone else (n={int(round(rest))})"
                if k in keys else None), counts))
        findings = judged(candidates, policy)
        out += [findings[k] for k in keys]
    return tuple(out)
