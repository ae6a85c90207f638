"""Why a gap exists: the diagnostic sections of a dataset audit, each run where its inputs allow.

Every section measures with the same statistics as the audit and judges with the same decision rule
(``engines.policy.judge``); see ``domain.diagnostics.Section`` for how its findings reach the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from fairprobe.domain.audit import AuditRequest, DataKind
from fairprobe.domain.diagnostics import Section, SectionName, Skipped
from fairprobe.engines.diagnostics.amplification import amplification
from fairprobe.engines.diagnostics.comparison import comparison
from fairprobe.engines.diagnostics.composition import composition
from fairprobe.engines.diagnostics.conditional import conditional
from fairprobe.engines.diagnostics.missingness import missingness
from fairprobe.engines.diagnostics.mitigation import mitigation
from fairprobe.engines.diagnostics.proxies import proxies
from fairprobe.engines.diagnostics.subgroups import subgroups
from fairprobe.engines.diagnostics.thresholds import Reaudit
from fairprobe.engines.diagnostics.windows import WindowAudit, windows
from fairprobe.engines.groups import Partition
from fairprobe.errors import ValidationFailed
from fairprobe.stats.counts import CountsTable

__all__ = ["diagnose"]


def _unavailable(name: SectionName, request: AuditRequest) -> str | None:
    """Why ``name`` cannot run on this request, or None."""
    rows = request.kind is DataKind.ROWS
    features = bool(request.feature_names)
    if name is SectionName.MISSINGNESS:
        if not rows:
            return "needs one row per person: a counts table has no feature columns"
        if not features and request.unlabelled is None:
            return "no feature columns (every column plays a part) and no missing labels"
    if name is SectionName.PROXIES:
        if not rows:
            return "needs one row per person: a counts table has no features for associations and the classifier"
        if not features:
            return "no feature columns: every column plays a part (label, prediction, protected, ...)"
    if name in (SectionName.COMPOSITION, SectionName.AMPLIFICATION) and not request.labelled:
        return "needs a label column: this audit has outputs only"
    if name is SectionName.AMPLIFICATION and not request.predicted:
        return "a data-only audit has no predictions to compare with the labels"
    if name in (SectionName.CONDITIONAL, SectionName.SUBGROUPS) and not (request.labelled or request.predicted):
        return "needs a decision or a label to compare favorable rates: this audit has no yes/no outcome"
    if name is SectionName.CONDITIONAL and not request.diagnostics.conditioning:
        return "no conditioning columns were given"
    if name is SectionName.WINDOWS and request.diagnostics.time is None:
        return "no time column was given"
    if name is SectionName.MITIGATION and not request.labelled:
        return "reweighing balances labels across groups: this audit has no label column"
    if name is SectionName.COMPARISON and request.diagnostics.candidate is None:
        return "no candidate model was given ('compare')"
    return None


def diagnose(request: AuditRequest, parts: Sequence[Partition], audit_window: WindowAudit | None = None,
             reaudit: Reaudit | None = None, table: CountsTable | None = None,
             ) -> tuple[tuple[Section, ...], tuple[Skipped, ...]]:
    """Run the requested sections (by default every one the inputs allow); say why the others did not run.
    ``audit_window`` audits the rows of one time window (the windows section runs the whole audit on each);
    ``table`` is the audit's counts table over every protected attribute."""
    fav_pos = request.roles.favorable_is_positive
    unlabelled = None
    if request.unlabelled is not None:
        unlabelled = (f"{len(request.unlabelled)} rows without a label were left out of the audit "
                      "(missing_labels: exclude); the missingness section reports label completeness by group")
    run: dict[SectionName, Callable[[], Section]] = {
        SectionName.COMPOSITION: lambda: composition(parts, request.diagnostics.expected_shares, request.policy,
                                                     fav_pos, unlabelled),
        SectionName.MISSINGNESS: lambda: missingness(request),
        SectionName.AMPLIFICATION: lambda: amplification(parts, request.policy, fav_pos),
        SectionName.CONDITIONAL: lambda: conditional(request, parts),
        SectionName.PROXIES: lambda: proxies(request),
        SectionName.SUBGROUPS: lambda: subgroups(request, table),
        SectionName.WINDOWS: lambda: windows(request, audit_window or (lambda _: None)),
        SectionName.COMPARISON: lambda: comparison(request, parts),
        SectionName.MITIGATION: lambda: mitigation(request, parts, reaudit),
    }
    asked = request.diagnostics.sections
    sections: list[Section] = []
    skipped: list[Skipped] = []
    for name in SectionName:
        if asked is not None and name not in asked:
            continue
        reason = _unavailable(name, request)
        if reason is not None:
            skipped.append(Skipped(name, reason))
        else:
            try:
                section = run[name]()
            except ValidationFailed as exc:
                if asked is not None:  # asked for by name: the caller must change the request
                    raise
                skipped.append(Skipped(name, exc.detail))  # on by default: it stands aside instead
                continue
            tables = {k: tuple(_plain(row) for row in rows) for k, rows in section.tables.items()}
            sections.append(replace(section, tables=tables))
    return tuple(sections), tuple(skipped)


def _plain(value: Any) -> Any:
    """Table cells as JSON values: numpy scalars become Python's, NaN and infinities become null."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most cells: as they are
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
