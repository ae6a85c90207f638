"""Over time: the audit run on every time window, each window's breaches of the policy, a trend test per
finding, and drift from a baseline window, so a monitoring job sees when a gap appeared (time to detect).

Every window is audited as its own audit (same groups, references, policy and decision rule; its findings one
Benjamini–Hochberg family), so a small window is inconclusive, never a noisy fail. Drift compares each
finding's value with the baseline window's: the difference, with a normal interval whose variance adds the
two windows' (each read off its interval at its level), judged against ``|drift| <= time.drift`` in one BH
family. The trend is the inverse-variance weighted least-squares slope of the value over the window index,
with its z test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy import special

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.diagnostics import Section, SectionName, TimeWindows
from fairprobe.domain.findings import AuditReport, Finding, Status
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Bound, Rule
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import Normal

__all__ = ["WindowAudit", "windows"]

#: audits the rows of one window (a boolean mask over the request's rows); None when it cannot be audited
WindowAudit = Callable[[np.ndarray], AuditReport | None]

METHOD = ("Each window is audited as its own audit: the same groups, references, policy and decision rule, its "
          "findings one Benjamini-Hochberg family (a small window is inconclusive, not a noisy fail). Drift: each "
          "finding's value minus the baseline window's, with a normal interval whose variance adds the two "
          "windows' (each read off its own interval), judged against |drift| <= time.drift, one BH family. "
          "Trend: the inverse-variance weighted least-squares slope of a finding's value over the window index, "
          "with a two-sided z test (windows with an interval only, at least three), and the single step that best "
          "splits the series (change_point: weighted means before and after, z of their difference, Bonferroni "
          "over the splits). first_flagged is the first "
          "window with a failing finding or a failing drift: the time to detect. A window's own findings stay out "
          "of the verdict (the whole data judge the policy); drift findings count when time.drift is stated.")


def _se(f: Finding) -> float | None:
    if f.value is None or f.ci_low is None or f.ci_high is None or not f.ci_level:
        return None
    z = -NormalDist().inv_cdf((1 - f.ci_level) / 2)
    se = (f.ci_high - f.ci_low) / (2 * z)
    return se if se > 0 else None


def _key(f: Finding) -> tuple[str, GroupKey, GroupKey]:
    return f.rule.rule_id, f.group, f.reference


def windows(request: AuditRequest, audit_window: WindowAudit) -> Section:
    time = request.diagnostics.time
    assert time is not None
    reports: list[tuple[int, AuditReport]] = []
    notes: list[str] = []
    for w, label in enumerate(time.labels):
        report = audit_window(time.codes == w)
        if report is None:
            notes.append(f"window {label}: a named reference group has no one in it, so it was not audited")
            continue
        reports.append((w, report))
    window_rows: list[dict[str, Any]] = [
        {"window": time.labels[w], "rows": r.audit.rows, "people": r.audit.people, "verdict": r.verdict.value,
         "fail": sum(f.status is Status.FAIL for f in r.findings),
         "inconclusive": sum(f.status is Status.INCONCLUSIVE for f in r.findings)} for w, r in reports]
    values: list[dict[str, Any]] = [
        {"window": time.labels[w], "rule": f.rule.rule_id, "metric": f.rule.metric, "group": f.group.as_dict(),
         "reference": f.reference.as_dict(), "n": f.n, "value": f.value, "ci_low": f.ci_low, "ci_high": f.ci_high,
         "ci_level": f.ci_level, "status": f.status.value, "reason": f.reason}
        for w, r in reports for f in r.findings]
    findings = [_in_window(f, time.labels[w]) for w, r in reports for f in r.findings]
    drift_findings, drift_rows = _drift(request, time, reports)
    flagged = _first_flagged(time, reports, drift_findings)
    tables: dict[str, tuple[dict[str, Any], ...]] = {
        "windows": tuple(window_rows), "values": tuple(values), "trends": tuple(_trends(time, reports)),
        "drift": tuple(drift_rows), "first_flagged": (flagged,)}
    return Section(SectionName.WINDOWS, METHOD, tables, (*findings, *drift_findings), tuple(notes))


def _in_window(f: Finding, label: str) -> Finding:
    """A window's finding, named by its window. It stays out of the verdict: the whole data judge the policy,
    and a window's finding says when (``first_flagged``), not whether."""
    return replace(f, in_verdict=False, group=GroupKey(("window", *f.group.attributes), (label, *f.group.values)),
                   reference=GroupKey(("window", *f.reference.attributes), (label, *f.reference.values)),
                   explanation=f"Window {label}: {f.explanation}")


def _drift(request: AuditRequest, time: TimeWindows, reports: list[tuple[int, AuditReport]]
           ) -> tuple[tuple[Finding, ...], list[dict[str, Any]]]:
    base = next((r for w, r in reports if w == time.baseline), None)
    if base is None:
        return (), []
    baseline = {_key(f): f for f in base.findings}
    rule = Rule("window_drift", Bound.MAX_ABS, time.drift)
    alpha = request.policy.alpha
    rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    for w, report in reports:
        if w == time.baseline:
            continue
        for f in report.findings:
            b = baseline.get(_key(f))
            if b is None:
                continue
            se_f, se_b = _se(f), _se(b)
            defined = f.value is not None and b.value is not None and se_f is not None and se_b is not None
            value = float(f.value - b.value) if defined else None  # type: ignore[operator]
            se = float(np.hypot(se_f, se_b)) if defined else None  # type: ignore[arg-type]
            label = time.labels[w]
            rows.append({"window": label, "baseline": time.labels[time.baseline], "rule": f.rule.rule_id,
                         "group": f.group.as_dict(), "value": f.value, "baseline_value": b.value, "drift": value,
                         "se": se})
            key = GroupKey(("window", *f.group.attributes), (label, *f.group.values))
            reference = GroupKey(("window", *f.group.attributes), (time.labels[time.baseline], *f.group.values))
            candidates.append((make_candidate(
                rule, key, reference, f.n, b.n, value,
                Normal(np.array([value]), np.array([se]), np.array([0.0])) if defined else None, alpha,
                sizes=(float(f.n), float(b.n)),
                subject=f"{f.rule.rule_id} for {f.group.label} in window {label} against window "
                        f"{time.labels[time.baseline]}"), time.drift_given))
    return judged(candidates, request.policy), rows


def _trends(time: TimeWindows, reports: list[tuple[int, AuditReport]]) -> list[dict[str, Any]]:
    series: dict[tuple[str, GroupKey, GroupKey], list[tuple[int, float, float]]] = {}
    for w, report in reports:
        for f in report.findings:
            se = _se(f)
            if f.value is not None and se is not None:
                series.setdefault(_key(f), []).append((w, float(f.value), se))
    out = []
    for (rule_id, group, _), points in series.items():
        if len(points) < 3:
            continue
        x, y, spread = (np.array(v, float) for v in zip(*points, strict=True))
        weight = 1 / spread**2
        x_bar, y_bar = np.average(x, weights=weight), np.average(y, weights=weight)
        sxx = float(np.sum(weight * (x - x_bar) ** 2))
        if sxx <= 0:
            continue
        slope = float(np.sum(weight * (x - x_bar) * (y - y_bar)) / sxx)
        sd = float(np.sqrt(1 / sxx))
        out.append({"rule": rule_id, "group": group.as_dict(), "windows": len(points), "slope_per_window": slope,
                    "ci_low": slope - 1.959964 * sd, "ci_high": slope + 1.959964 * sd, "ci_level": 0.95,
                    "p_value": finite(float(2 * special.ndtr(-abs(slope) / sd))),
                    "test": "inverse_variance_weighted_slope_z", **_change_point(x, y, weight, time)})
    return out


def _change_point(x: np.ndarray, y: np.ndarray, weight: np.ndarray, time: TimeWindows) -> dict[str, Any]:
    """The single step that best splits the series: at each split, the inverse-variance weighted means before
    and after and the z of their difference; the largest |z|, Bonferroni-adjusted over the splits tried."""
    best: tuple[float, int, float] | None = None
    for k in range(1, len(x)):
        before, after = slice(0, k), slice(k, len(x))
        w_b, w_a = weight[before].sum(), weight[after].sum()
        step = np.average(y[after], weights=weight[after]) - np.average(y[before], weights=weight[before])
        z = float(step / np.sqrt(1 / w_b + 1 / w_a))
        if best is None or abs(z) > abs(best[0]):
            best = (z, k, float(step))
    if best is None:
        return {}
    z, k, step = best
    p = min(1.0, float(2 * special.ndtr(-abs(z))) * (len(x) - 1))
    return {"change_point": time.labels[int(x[k])], "change_step": step, "change_p_value_bonferroni": finite(p)}


def _first_flagged(time: TimeWindows, reports: list[tuple[int, AuditReport]],
                   drift: tuple[Finding, ...]) -> dict[str, Any]:
    breach = next((w for w, r in reports if any(f.status is Status.FAIL for f in r.findings)), None)
    drifted = [time.labels.index(str(f.group.values[0])) for f in drift if f.status is Status.FAIL]
    first_drift = min(drifted) if drifted else None
    candidates = [(w, by) for w, by in ((breach, "breach"), (first_drift, "drift")) if w is not None]
    if not candidates:
        return {"window": None, "by": None}
    w, by = min(candidates)
    return {"window": time.labels[w], "by": by, "first_breach": None if breach is None else time.labels[breach],
            "first_drift": None if first_drift is None else time.labels[first_drift]}
