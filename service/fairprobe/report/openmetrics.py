"""Any report as OpenMetrics text: gauges a scheduled job can push to a Pushgateway and Grafana can draw.

One series per finding and measure (its value, interval limits, bound and status), labelled by report kind,
rule, metric, group, reference and, for the windows section, the window; plus the verdict and the summary.
Names and labels are those ``ops/prometheus/fairprobe-alerts.yml`` and ``ops/grafana/fairprobe-dashboard.json``
use, so a test that loads them with promtool keeps the three from drifting apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["OPENMETRICS", "render_openmetrics"]

OPENMETRICS = "application/openmetrics-text"
STATUSES = ("pass", "fail", "inconclusive")

#: (name, help) of every family, in the order they are written
FAMILIES = (
    ("fairprobe_report_verdict", "1 for the report's verdict, 0 for the other statuses"),
    ("fairprobe_report_findings", "findings of the report (and section findings that count) by status"),
    ("fairprobe_finding_value", "a finding's value (a disparity, a rate gap, a drift ...)"),
    ("fairprobe_finding_ci_low", "the lower limit of the finding's interval"),
    ("fairprobe_finding_ci_high", "the upper limit of the finding's interval"),
    ("fairprobe_finding_threshold", "the policy bound the finding is judged against"),
    ("fairprobe_finding_status", "1 for the finding's status, 0 for the other statuses"),
)


def _escape(value: Any) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(labels: Mapping[str, Any]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _group(group: Mapping[str, Any] | None) -> str:
    return " & ".join(f"{k}={v}" for k, v in (group or {}).items() if k != "window")


def _number(x: Any) -> str | None:
    if x is None or isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return repr(float(x))


def _findings(report: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for finding in report.get("findings") or []:
        yield "", finding
    for section in (*(report.get("diagnostics") or []), *(report.get("outputs") or [])):
        for finding in section.get("findings") or []:
            yield str(section.get("name", "")), finding


def render_openmetrics(kind: str, report: Mapping[str, Any]) -> str:
    """The report (the JSON its schema dumps) as OpenMetrics exposition text, ending with ``# EOF``."""
    samples: dict[str, list[str]] = {name: [] for name, _ in FAMILIES}
    verdict = str(report.get("verdict", ""))
    for status in STATUSES:
        samples["fairprobe_report_verdict"].append(
            f"fairprobe_report_verdict{_labels({'kind': kind, 'status': status})} {int(status == verdict)}")
    summary = report.get("summary") or {}
    for status in STATUSES:
        samples["fairprobe_report_findings"].append(
            f"fairprobe_report_findings{_labels({'kind': kind, 'status': status})} {int(summary.get(status, 0))}")
    seen: set[str] = set()
    for section, finding in _findings(report):
        group = finding.get("group") or {}
        labels = {"kind": kind, "section": section or "audit", "rule": finding.get("rule", ""),
                  "metric": finding.get("metric", ""), "group": _group(group),
                  "reference": _group(finding.get("reference")), "window": group.get("window", ""),
                  "in_verdict": str(bool(finding.get("in_verdict"))).lower()}
        key = _labels(labels)
        if key in seen:  # one series per label set (a rule may be repeated with the same scope)
            continue
        seen.add(key)
        for name, field in (("fairprobe_finding_value", "value"), ("fairprobe_finding_ci_low", "ci_low"),
                            ("fairprobe_finding_ci_high", "ci_high"), ("fairprobe_finding_threshold", "threshold")):
            number = _number(finding.get(field))
            if number is not None:
                samples[name].append(f"{name}{key} {number}")
        for status in STATUSES:
            flag = int(finding.get("status") == status)
            samples["fairprobe_finding_status"].append(
                f"fairprobe_finding_status{_labels({**labels, 'status': status})} {flag}")
    lines: list[str] = []
    for name, help_text in FAMILIES:
        lines += [f"# TYPE {name} gauge", f"# HELP {name} {help_text}", *samples[name]]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
