"""A report as text: a terminal table, Markdown, or JUnit XML (one test case per finding).

JSON is the report as the service sent it, and HTML is the service's own page of it; both come whole
from the service, so they are not rendered here.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

from fairprobe_client._models import Finding, Report

__all__ = ["FORMATS", "render"]

#: the order findings are listed in: what blocks a release first
_ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}


def _number(x: float | int | None) -> str:
    if x is None:
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.4g}"


def _interval(f: Finding) -> str:
    if f.ci_low is None or f.ci_high is None:
        return "—"
    level = f"{f.ci_level * 100:.4g}% " if f.ci_level else ""
    return f"{level}{_number(f.ci_low)} to {_number(f.ci_high)}"


def _group(group: dict[str, Any]) -> str:
    return " & ".join(f"{k}={v}" for k, v in group.items()) or "(all)"


def _status(f: Finding) -> str:
    return f"{f.status} ({f.reason})" if f.reason and f.status != "pass" else f.status


def _sorted(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: _ORDER.get(f.status, 3))


def headline(report: Report) -> str:
    """One line: the verdict and the counts behind it."""
    s = report.summary
    return (f"verdict: {report.verdict.upper()} — {s.failed} fail, {s.inconclusive} inconclusive, "
            f"{s.passed} pass of {s.findings} findings")


def table(report: Report) -> str:
    """The failing and inconclusive findings as an aligned table (what a person at a terminal needs)."""
    shown = _sorted([f for f in report.findings if f.status != "pass"])
    lines = [headline(report)]
    if shown:
        rows = [("STATUS", "GROUP", "AGAINST", "RULE", "VALUE", "INTERVAL", "N", "N TO DECIDE")]
        rows += [(_status(f), _group(f.group)[:48], _group(f.reference)[:32], f.rule, _number(f.value),
                  _interval(f), _number(f.n), _number(f.n_to_decide) if f.n_to_decide else "")
                 for f in shown]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.append("")
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    passed = len(report.findings) - len(shown)
    if passed:
        lines.append(f"\n{passed} passing findings not shown (--format json or markdown lists every finding).")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """Every finding, failing first, with its explanation: for a pull-request comment or a wiki page."""
    lines = [f"## fairprobe: {report.verdict}", "", headline(report), "",
             "| status | group | against | rule | value | interval | n | explanation |",
             "|---|---|---|---|---|---|---|---|"]
    for f in _sorted(report.findings):
        lines.append("| " + " | ".join(_cell(c) for c in (
            f"**{f.status}**" if f.status != "pass" else f.status, _group(f.group), _group(f.reference),
            f"`{f.rule}`", _number(f.value), _interval(f), _number(f.n), f.explanation)) + " |")
    return "\n".join(lines) + "\n"


def junit(report: Report, name: str = "fairprobe") -> str:
    """JUnit XML: each finding a test case; fail is a failure, inconclusive is skipped with its reason."""
    failures = sum(f.status == "fail" for f in report.findings)
    skipped = sum(f.status == "inconclusive" for f in report.findings)
    counts = {"tests": str(len(report.findings)), "failures": str(failures), "errors": "0",
              "skipped": str(skipped)}
    suites = ET.Element("testsuites", {"name": name, **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": name, **counts})
    properties = ET.SubElement(suite, "properties")
    record: dict[str, Any] = next(
        (report.raw[k] for k in ("audit", "probe", "stress", "search") if isinstance(report.raw.get(k), dict)), {})
    for key, value in (("verdict", report.verdict), ("request_id", record.get("request_id", "")),
                       ("created_at", record.get("created_at", ""))):
        ET.SubElement(properties, "property", {"name": key, "value": str(value)})
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", {"classname": f"{name}.{f.rule}",
                                                 "name": f"{_group(f.group)} vs {_group(f.reference)}"})
        if f.status == "fail":
            failure = ET.SubElement(case, "failure", {"type": "fail", "message": f.explanation[:500]})
            failure.text = f.explanation
        elif f.status == "inconclusive":
            decide = f"; about {f.n_to_decide:,} people in the group would decide it" if f.n_to_decide else ""
            ET.SubElement(case, "skipped", {"message": f"inconclusive ({f.reason}){decide}"})
        ET.SubElement(case, "system-out").text = f.explanation
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _json(report: Report) -> str:
    return json.dumps(report.raw, indent=2, ensure_ascii=False) + "\n"


def _html(report: Report) -> str:
    if report.html is None:
        raise ValueError("the report was fetched without its HTML page")
    return report.html


FORMATS: dict[str, Callable[[Report], str]] = {"table": table, "json": _json, "markdown": markdown,
                                               "junit": junit, "html": _html}


def render(report: Report, form: str) -> str:
    return FORMATS[form](report)
