"""Any report (audit, probe, stress test, search) as one self-contained HTML page.

The page is built from the report's JSON (what the schemas dump), so it shows exactly what the API
answers: the audit record, the verdict and its headline, charts of every judged value with its interval
against the policy's bound, the findings with their explanations, the accounting of probes, and a methods
section naming each test, correction and AIF360 function used. Styles are inline and charts are SVG: no
script, no font or image to fetch, and it prints.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from fairprobe.engines.catalogue import CATALOGUE, DECISION_RULES
from fairprobe.report.charts import Point, whiskers

__all__ = ["Kind", "render"]

Kind = Literal["audit", "probe", "stress", "search"]
TITLES = {"audit": "Dataset audit", "probe": "Counterfactual probe", "stress": "Stress test",
          "search": "Discrimination search"}

_ENVIRONMENT = Environment(loader=PackageLoader("fairprobe.report"), autoescape=select_autoescape(["html"]),
                           trim_blocks=True, lstrip_blocks=True)


def _label(group: Mapping[str, Any] | None) -> str:
    return " & ".join(f"{k}={v}" for k, v in (group or {}).items())


def _bound(finding: Mapping[str, Any]) -> tuple[float, float]:
    t = float(finding.get("threshold") or 0.0)
    return {"min": (t, math.inf), "max": (-math.inf, t)}.get(str(finding.get("bound")), (-t, t))


def _parity(finding: Mapping[str, Any]) -> float:
    return 1.0 if finding.get("metric") == "disparate_impact" and finding.get("bound") != "max_relative_gap" else 0.0


def _number(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _finding_charts(findings: list[Mapping[str, Any]]) -> list[str]:
    """One chart per rule and partition (attribute or intersection): every group's value and interval."""
    charts: dict[tuple[str, tuple[str, ...]], list[Mapping[str, Any]]] = defaultdict(list)
    for f in findings:
        charts[(str(f.get("rule")), tuple(f.get("group") or {}))].append(f)
    out = []
    for (rule, attributes), rows in charts.items():
        first = rows[0]
        level = first.get("ci_level")
        title = (f"{first.get('metric')} by {' × '.join(attributes)} against {_label(first.get('reference'))} "
                 f"({rule}; {level * 100:.4g}% intervals)" if level else f"{first.get('metric')} ({rule})")
        points = [Point(_label(f.get("group")), f.get("value"), f.get("ci_low"), f.get("ci_high"), f.get("status"))
                  for f in rows]
        out.append(whiskers(title, points, _bound(first), _parity(first)))
    return out


def _comparison_charts(report: Mapping[str, Any]) -> list[str]:
    """Probes: every group's paired difference from the reference, per measure, with its interval."""
    out = []
    comparisons = report.get("comparisons") or []
    for metric in ("mean_score_difference", "positive_rate_difference", "flip_rate"):
        points = [Point(str(c.get("label")), (c.get("metrics") or {}).get(metric, {}).get("value"),
                        (c.get("metrics") or {}).get(metric, {}).get("ci_low"),
                        (c.get("metrics") or {}).get(metric, {}).get("ci_high")) for c in comparisons]
        if any(p.value is not None for p in points):
            out.append(whiskers(f"{metric}, paired by profile (group vs reference)", points, None, 0.0))
    return out


def _rate_charts(report: Mapping[str, Any]) -> list[str]:
    """Audits and stress tests: each group's favourable/positive rate with its Wilson interval."""
    groups = report.get("groups") or []
    metric = "positive_rate" if any("positive_rate" in (g.get("metrics") or {}) for g in groups) else "selection_rate"
    points = [Point(str(g.get("label")), (g.get("metrics") or {}).get(metric, {}).get("value"),
                    (g.get("metrics") or {}).get(metric, {}).get("ci_low"),
                    (g.get("metrics") or {}).get(metric, {}).get("ci_high")) for g in groups]
    if not any(p.value is not None for p in points):
        return []
    estimates = [(g.get("metrics") or {}).get(metric, {}) for g in groups]
    level = next((e.get("ci_level") for e in estimates if e.get("ci_level")), None)
    method = next((e.get("ci_method") for e in estimates if e.get("ci_method")), None)
    detail = f" ({level * 100:.4g}% {method} intervals)" if level and method else ""
    return [whiskers(f"{metric} by group{detail}", points)]


def _methods(report: Mapping[str, Any], policy: Mapping[str, Any] | None) -> dict[str, Any]:
    findings = report.get("findings") or []
    used = sorted({str(f.get("metric")) for f in findings} | {"selection_rate"} & set(
        m for g in report.get("groups") or [] for m in (g.get("metrics") or {})))
    metrics = [CATALOGUE[name] for name in used if name in CATALOGUE]
    tests = sorted({str(f.get("test")) for f in findings if f.get("test")})
    methods = sorted({str(f.get("ci_method")) for f in findings if f.get("ci_method")})
    rule_name = (policy or {}).get("decision_rule") or "bound"
    rule = next((r for r in DECISION_RULES if r.name == rule_name), DECISION_RULES[0])
    return {"metrics": metrics, "tests": tests, "intervals": methods, "rule": rule, "policy": policy or {}}


def render(kind: Kind, report: Mapping[str, Any]) -> str:
    """The page for one report (the JSON its schema dumps)."""
    record = report.get("audit") or report.get("probe") or report.get("stress") or report.get("search") or {}
    policy = record.get("policy")
    findings = list(report.get("findings") or [])
    charts = _finding_charts(findings)
    if kind == "probe":
        charts += _comparison_charts(report)
    if kind in ("audit", "stress"):
        charts += _rate_charts(report)
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    return _ENVIRONMENT.get_template("report.html").render(
        kind=kind, title=TITLES[kind], report=report, record=record, policy=policy,
        findings=sorted(findings, key=lambda f: order.get(str(f.get("status")), 3)),
        headline=[f for f in findings if f.get("status") == "fail"][:5], charts=charts,
        methods=_methods(report, policy), label=_label, number=_number,
        accounting=report.get("accounting") or report.get("scoring"),
    )
