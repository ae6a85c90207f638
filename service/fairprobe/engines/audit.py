"""The dataset audit: rows (or a counts table) in, findings and a verdict out.

One vectorized pass builds the counts table; AIF360 computes every group metric on it with the counts
as instance weights; ``stats`` adds intervals, tests and BH adjustment; the policy turns the measured
disparities into findings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version

import numpy as np
import pandas as pd

from fairprobe.domain.audit import LABEL, PREDICTION, SCORE, WEIGHT, AuditRequest, DataKind
from fairprobe.domain.diagnostics import DiagnosticsRequest
from fairprobe.domain.endpoint import Accounting, Output, Scorer
from fairprobe.domain.findings import (
    AttributeIndex,
    AuditRecord,
    AuditReport,
    Disparity,
    Estimate,
    GroupReport,
    Reason,
)
from fairprobe.domain.outputs import OutputsRequest
from fairprobe.domain.policy import Bound, Rule
from fairprobe.engines import measures
from fairprobe.engines.aif360_adapter import AIF360_VERSION, group_metrics
from fairprobe.engines.catalogue import DISPARITIES, LABEL_DISPARITIES, RATES, higher_favours
from fairprobe.engines.diagnostics import diagnose
from fairprobe.engines.groups import Partition, partitions
from fairprobe.engines.outputs import measure_outputs
from fairprobe.engines.policy import Candidate, judge, verdict
from fairprobe.errors import ModelUnavailable, ValidationFailed
from fairprobe.stats import entropy
from fairprobe.stats.counts import CountsTable, cells_of_rows, encode, row_cells, tabulate
from fairprobe.stats.scores import score_order, summarize_scores

__all__ = ["DatasetAudit", "fingerprint", "score_rows"]

VERSIONS: Mapping[str, str] = {
    "fairprobe": version("fairprobe"),
    "aif360": AIF360_VERSION,
    "pandas": pd.__version__,
    "numpy": np.__version__,
    "scipy": version("scipy"),
    "statsmodels": version("statsmodels"),
}


#: from this many rows on, a fingerprint that cannot be read off the cells is hashed on a thread beside the audit
#: (below, a thread costs more)
PARALLEL_ROWS = 100_000
#: one thread per process for the fingerprints of large audits
_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairprobe-fingerprint")


def fingerprint(frame: pd.DataFrame, cells: RowCells | None = None) -> str:
    """SHA-256 over the column names and pandas' per-row hash of the audited columns.

    The same data gives the same fingerprint whether it came as JSON records, columns or CSV. With the
    rows' ``cells`` (when every column is a function of the cell), each row's hash is pandas' hash of its
    cell's values, computed once per cell and gathered: the same bytes, without hashing a million rows.
    """
    return _fingerprint_job(frame, cells)()


def _fingerprint_job(frame: pd.DataFrame, cells: RowCells | None) -> Callable[[], str]:
    """:func:`fingerprint` as the Python work done now and a job left to do. Read off the cells, the job is a
    gather and SHA-256, both of which release the GIL: on a thread beside the audit it finishes without
    waiting for the audit's Python (a job that takes the GIL back often waits a switch interval each time)."""
    header = "\x1f".join(map(str, frame.columns)).encode()
    if cells is not None and (per_cell := _cell_hashes(frame, cells)) is not None:
        rows = cells.cells
        return lambda: _sha256(header, np.take(per_cell, rows))
    return lambda: _sha256(header, pd.util.hash_pandas_object(frame, index=False).to_numpy())


def _sha256(header: bytes, hashes: np.ndarray) -> str:
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(hashes).data)
    return digest.hexdigest()


@dataclass(frozen=True)
class RowCells:
    """The rows' cells of the dense counts table (``counts.row_cells``) and what they encode: the unbinned
    protected attributes ``names`` with their ``levels``."""

    cells: np.ndarray
    names: tuple[str, ...]
    levels: tuple[tuple[object, ...], ...]


#: where a cell number holds the label and the prediction (``counts.row_cells``)
_OUTCOME_BITS: dict[object, int] = {LABEL: 1, PREDICTION: 0}


def _cell_hashes(frame: pd.DataFrame, cells: RowCells) -> np.ndarray | None:
    """pandas' hash of each cell's row (cell ``d`` of ``cells.cells``); None unless every column is an unbinned
    protected attribute (of categories, integers, booleans or text), the label, the prediction or one constant."""
    sizes = [len(lv) for lv in cells.levels]
    cell = np.arange(4 * int(np.prod(sizes)) if sizes else 4)
    if len(cell) > len(frame) or 0 in sizes:
        return None
    combination = np.unravel_index(cell // 4, sizes) if sizes else ()
    columns: dict[object, object] = {}
    for name in frame.columns:
        series = frame[name]
        dtype = series.dtype
        if (bit := _OUTCOME_BITS.get(name)) is not None and dtype.kind == "b":
            columns[name] = (cell >> bit & 1).astype(bool)
        elif name in cells.names:
            j = cells.names.index(name)
            values = [cells.levels[j][k] for k in combination[j]]
            if isinstance(dtype, pd.CategoricalDtype):
                columns[name] = pd.Categorical(values, dtype=dtype)
            elif isinstance(dtype, np.dtype) and dtype.kind in "biuO":
                columns[name] = np.array(values, dtype=dtype)
            else:
                return None  # floats: 0.0 and -0.0 are one level but hash apart
        elif dtype.kind in "biuf" and isinstance(series.array, pd.arrays.NumpyExtensionArray):
            plain = series.to_numpy()
            bits = plain.view(f"u{plain.dtype.itemsize}")  # constant to the bit (so not 0.0 and -0.0)
            if bits.min() != bits.max():
                return None
            columns[name] = np.full(len(cell), plain[0], dtype=plain.dtype)
        else:
            return None
    per_cell: np.ndarray = pd.util.hash_pandas_object(pd.DataFrame(columns, columns=frame.columns),
                                                      index=False).to_numpy()
    return per_cell


class DatasetAudit:
    """Audit one dataset against its policy.

    Parameters
    ----------
    request_id
        Echoed in the audit record.
    clock
        Returns the audit's timestamp (injected so tests can pin it).
    max_groups, max_findings
        The most groups and findings one audit may have: more is refused (422) before any metric is computed.
    """

    def __init__(self, *, request_id: str, scorer: Scorer | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), max_groups: int = 2_000,
                 max_findings: int = 20_000) -> None:
        self.request_id = request_id
        self.scorer = scorer
        self.clock = clock
        self.max_groups = max_groups
        self.max_findings = max_findings

    def run(self, request: AuditRequest) -> AuditReport:
        """Audit the request's rows; with an endpoint, score them through the scorer first."""
        if request.endpoint is None:
            return self._audit(request)
        if self.scorer is None:
            raise ValueError("an audit with an endpoint needs a scorer")
        scored_request, accounting = score_rows(request, self.scorer)
        return replace(self._audit(scored_request), scoring=accounting)

    def _audit(self, request: AuditRequest) -> AuditReport:
        frame = request.frame
        names = [a.name for a in request.protected]
        encoded = [encode(frame[a.name], a.bins) for a in request.protected]
        codes = [c for c, _ in encoded]
        levels = [lv for _, lv in encoded]
        label = frame[LABEL].to_numpy()  # 0/1 (booleans): the cells take them as bytes
        prediction = frame[PREDICTION].to_numpy()
        cells = row_cells(codes, levels, label, prediction)  # tabulate would make them; the fingerprint reads them
        # a large frame's fingerprint is computed on a thread beside the audit (numpy work and SHA-256, which
        # release the GIL), read off the cells where it can be
        digest: Future[str] | None = None
        if len(frame) >= PARALLEL_ROWS:
            by_cell = None if cells is None or any(a.bins is not None for a in request.protected) else \
                RowCells(cells, tuple(names), tuple(levels))
            digest = _HASHING.submit(_fingerprint_job(frame, by_cell))
        if request.kind is DataKind.COUNTS:
            table = tabulate(codes, levels, names, label, prediction, people=frame[WEIGHT].to_numpy(dtype=float),
                             cells=cells)
        else:
            weights = frame[WEIGHT].to_numpy(dtype=float) if request.roles.weight else None
            table = tabulate(codes, levels, names, label, prediction, weights, cells=cells)
        parts = partitions(table, request.protected, request.intersections)
        self._check_size(request, parts)
        alpha = request.policy.alpha
        fav_pos = request.roles.favorable_is_positive
        total_people = float(table.people.sum())
        total_weight = float(table.weight.sum())

        # one AIF360 call for every group of every partition: its datasets are built once
        pairs = [
            (dict(zip(part.attributes, cell, strict=True)),
             dict(zip(part.attributes, part.cells[part.reference], strict=True)))
            for part in parts for cell in part.cells
        ]
        all_values = group_metrics(
            table, [g for g, _ in pairs], [r for _, r in pairs], favorable_is_positive=fav_pos
        )
        groups: list[GroupReport] = []
        candidates: list[Candidate] = []
        start = 0
        for part in parts:
            values = all_values[start:start + len(part.cells)]
            start += len(part.cells)
            counts = measures.effective_counts(part, fav_pos)
            rates = measures.estimates(part, values, counts, alpha)
            gaps = measures.disparities(part, values, counts, alpha)
            if SCORE in frame:
                self._add_scores(part, codes, names, frame, rates, alpha)
            if not (request.predicted and request.labelled):  # only what the given columns define
                kept_rates, kept_gaps = _defined(request)
                rates = [{k: v for k, v in r.items() if k in kept_rates} for r in rates]
                gaps = [{k: v for k, v in g.items() if k in kept_gaps} for g in gaps]
            for i, key in enumerate(part.keys):
                weighted_n = float(part.table.weight[i].sum())
                groups.append(GroupReport(
                    key=key, reference=part.keys[part.reference], is_reference=i == part.reference,
                    n=int(round(part.people(i))), weighted_n=weighted_n, share=weighted_n / total_weight,
                    metrics=rates[i], disparities=gaps[i],
                ))
            candidates += self._candidates(request, part, rates, gaps, counts)

        findings = judge(candidates, request.policy)
        sections, skipped = diagnose(request, parts, lambda rows: self._window(request, rows),
                                     lambda decisions: self._with_decisions(request, decisions), table)
        outputs = measure_outputs(request, parts, table, np.maximum(cells_of_rows(codes, table), 0)) \
            if request.outputs.kinds else ()
        counted = [f for section in (*sections, *outputs) for f in section.findings if f.in_verdict]
        roles = request.roles
        decided_and_labelled = request.predicted and request.labelled
        return AuditReport(
            verdict=verdict((*findings, *counted)),
            findings=findings,
            groups=tuple(groups),
            indices=tuple(self._indices(part, fav_pos) for part in parts) if decided_and_labelled else (),
            overall=self._overall(table, fav_pos) if decided_and_labelled else {},
            audit=AuditRecord(
                request_id=self.request_id,
                created_at=self.clock().isoformat(timespec="seconds"),
                versions=VERSIONS,
                input_sha256=digest.result() if digest is not None else fingerprint(frame),
                rows=len(frame),
                people=total_people,
                data_kind=request.kind.value,
                policy=request.policy,
                seed=request.seed,
                columns={"label": roles.label, "prediction": roles.prediction, "score": roles.score,
                         "threshold": roles.threshold, "weight": roles.weight, "count": roles.count},
                positive_label=roles.positive_label,
                favorable=roles.favorable,
                favorable_defaulted=not roles.favorable_given,
                partitions=tuple((part.attributes, part.keys[part.reference]) for part in parts),
            ),
            warnings=_warnings(request),
            diagnostics=sections,
            skipped=skipped,
            outputs=outputs,
        )

    def _window(self, request: AuditRequest, rows: np.ndarray) -> AuditReport | None:
        """The same audit on the rows of one time window (no diagnostics, no outputs); None when a named
        reference group has no one in the window (its findings would have no reference)."""
        frame = request.frame.loc[rows].reset_index(drop=True)
        for attribute in request.protected:
            if attribute.reference_rule == "named" and attribute.bins is None and \
                    not bool((frame[attribute.name] == attribute.reference).any()):
                return None
            if attribute.reference_rule == "named" and attribute.bins is not None and \
                    attribute.reference not in encode(frame[attribute.name], attribute.bins)[1]:
                return None
        return self._audit(_bare(request, frame))

    def _with_decisions(self, request: AuditRequest, decisions: np.ndarray) -> AuditReport:
        """The same audit with other decisions (a mitigation option's), without diagnostics or outputs."""
        frame = request.frame.copy()
        frame[PREDICTION] = np.asarray(decisions, dtype=bool)
        return self._audit(_bare(request, frame))

    def _check_size(self, request: AuditRequest, parts: list[Partition]) -> None:
        """Refuse an audit whose groups or findings exceed the service's limits, naming what to change."""
        groups = sum(len(part.cells) for part in parts)
        if groups > self.max_groups:
            singles = sum(len(part.cells) for part in parts if len(part.attributes) == 1)
            field = "protected" if singles > self.max_groups or not request.intersections else "intersections"
            raise ValidationFailed.on(field, f"the audit has {groups} groups (every value of every attribute and "
                                             f"intersection that occurs); this service audits at most "
                                             f"{self.max_groups}: bin or group values, or audit fewer intersections")
        findings = sum(len(part.cells) - 1 for rule in request.policy.rules for part in parts
                       if _applies(rule, part))
        if findings > self.max_findings:
            raise ValidationFailed.on("policy.rules", f"the audit would judge {findings} findings (rules x groups); "
                                                      f"this service judges at most {self.max_findings}")

    @staticmethod
    def _candidates(
        request: AuditRequest, part: Partition, rates: list[dict[str, Estimate]],
        gaps: list[dict[str, Disparity]], counts: measures.EffectiveCounts,
    ) -> list[Candidate]:
        out = []
        fav_pos = request.roles.favorable_is_positive
        for rule in request.policy.rules:
            if not _applies(rule, part):
                continue
            relative = rule.bound is Bound.MAX_RELATIVE_GAP
            for i, key in enumerate(part.keys):
                if i == part.reference:
                    continue
                if relative:
                    parity = measures.relative_gap(
                        part, i, rule.metric, counts, rates[i][rule.metric],
                        rates[part.reference][rule.metric], request.policy.alpha,
                    )
                else:
                    parity = gaps[i][rule.metric]
                measure, sizes = measures.bound_measure(part, i, rule.metric, counts)
                ratio = relative or DISPARITIES[rule.metric].compare == "ratio"
                out.append(Candidate(
                    rule=rule, group=key, reference=part.keys[part.reference],
                    n=int(round(part.people(i))), reference_n=int(round(part.people(part.reference))),
                    value=parity.value, measure=measure if parity.value is not None else None, parity=parity,
                    sizes=sizes, offset=-1.0 if relative else 0.0, parity_value=1.0 if ratio and not relative else 0.0,
                    higher_favours=higher_favours(rule.metric, fav_pos), reason=parity.reason,
                ))
        return out

    @staticmethod
    def _add_scores(
        part: Partition, codes: list[np.ndarray], names: list[str], frame: pd.DataFrame,
        rates: list[dict[str, Estimate]], alpha: float,
    ) -> None:
        score = frame[SCORE].to_numpy(dtype=float)
        order = score_order(score)
        s, y, w = score[order], frame[LABEL].to_numpy(dtype=bool)[order], frame[WEIGHT].to_numpy(float)[order]
        member = np.ones(len(frame), dtype=bool)
        cols = [codes[names.index(a)][order] for a in part.attributes]
        for i, cell in enumerate(part.cells):
            member[:] = True
            for col, code in zip(cols, cell, strict=True):
                member &= col == code
            summary = summarize_scores(s[member], y[member], w[member], alpha)
            rates[i]["auc"] = _score_estimate(summary.auc, summary.auc_ci, "hanley_mcneil", Reason.SINGLE_CLASS)
            rates[i]["brier_score"] = _score_estimate(summary.brier, summary.brier_ci, "normal", Reason.EMPTY_GROUP)
            rates[i]["expected_calibration_error"] = _score_estimate(
                summary.expected_calibration_error, None, None, Reason.EMPTY_GROUP
            )

    @staticmethod
    def _indices(part: Partition, fav_pos: bool) -> AttributeIndex:
        by_group = entropy.benefit_counts(
            part.table.people, favorable_is_positive=fav_pos
        )
        ge2 = entropy.between_group_index(by_group, 2)
        return AttributeIndex(
            attributes=part.attributes,
            reference=part.keys[part.reference],
            groups=len(part.cells),
            metrics={
                "between_group_generalized_entropy_index": ge2,
                "between_group_theil_index": entropy.between_group_index(by_group, 1),
                "between_group_coefficient_of_variation": None if ge2 is None else float(np.sqrt(2 * ge2)),
            },
        )

    @staticmethod
    def _overall(table: CountsTable, fav_pos: bool) -> Mapping[str, float | None]:
        people = table.people.reshape(-1, 2, 2).sum(axis=0)
        b = entropy.benefit_counts(people, favorable_is_positive=fav_pos)
        ge2 = entropy.generalized_entropy(b, 2)
        return {
            "generalized_entropy_index": ge2,
            "theil_index": entropy.generalized_entropy(b, 1),
            "coefficient_of_variation": None if ge2 is None else float(np.sqrt(2 * ge2)),
        }


def _bare(request: AuditRequest, frame: pd.DataFrame) -> AuditRequest:
    """``request`` on other rows or decisions, auditing the policy only: no diagnostics, outputs or endpoint."""
    return replace(request, frame=frame, extra=None, feature_names=(), unlabelled=None,
                   diagnostics=DiagnosticsRequest(sections=()), outputs=OutputsRequest(), endpoint=None)


def _applies(rule: Rule, part: Partition) -> bool:
    """Whether ``rule`` judges the groups of ``part`` (its attributes, intersections or not); rules on a
    diagnostic section's measures are that section's."""
    return (rule.metric in DISPARITIES or rule.metric in RATES) and rule.covers(part.attributes)


def _defined(request: AuditRequest) -> tuple[set[str], set[str]]:
    """The rates and disparities an audit without labels or without decisions defines."""
    if request.labelled:  # labels without decisions: historical bias in the labels
        return {"base_rate"}, set(LABEL_DISPARITIES)
    if request.predicted:  # decisions without labels (a segment placement, a decision log)
        return {"selection_rate"}, {"statistical_parity_difference", "disparate_impact"}
    return set(), set()


def _warnings(request: AuditRequest) -> tuple[str, ...]:
    out = []
    if not request.labelled:
        out.append("no label column was given: this audit measures outputs (decisions, segments, outcomes, lists) "
                   "only; rates that need the actual outcome (TPR, FPR, accuracy, ...) are not computed")
    elif not request.predicted:
        out.append("no prediction, score or endpoint was given: this is a data-only audit of the labels (historical "
                   "and selection bias); it judges label measures only")
    if request.unlabelled is not None:
        out.append(f"{len(request.unlabelled)} rows without a label were left out of the audit (missing_labels: "
                   "exclude); the missingness section reports label completeness by group")
    if not request.roles.favorable_given:
        out.append(f"favorable was not given, so the prediction {request.roles.positive_label!r} (positive_label) "
                   "is taken as the one that benefits the person; if it harms them (a risk flag, a denial), "
                   "declare favorable, or statistical parity and disparate impact point the wrong way")
    return tuple(out)


def score_rows(request: AuditRequest, scorer: Scorer) -> tuple[AuditRequest, Accounting]:
    """Score every row through the endpoint; rows without an answer leave the audit and are counted.

    Scores become the score column only when they all lie in [0, 1] (probabilities); the decision is
    the endpoint's (score >= threshold, or label == positive label).
    """
    scored = scorer.score(request.features)
    answered = np.array([f is None for f in scored.failures], dtype=bool)
    if not answered.any():
        raise ModelUnavailable.with_accounting("rows", scored.accounting)
    frame = request.frame.loc[answered].reset_index(drop=True)
    frame[PREDICTION] = np.array([d for d in scored.decisions if d is not None], dtype=bool)
    scores = np.array([s for s in scored.scores if s is not None], dtype=float)
    if request.endpoint is not None and request.endpoint.output is Output.SCORE and \
            bool(((scores >= 0) & (scores <= 1)).all()):
        frame[SCORE] = scores
    extra = None if request.extra is None else request.extra.loc[answered].reset_index(drop=True)
    return replace(request, frame=frame, extra=extra), scored.accounting


def _score_estimate(
    value: float | None, ci: tuple[float, float] | None, method: str | None, reason: Reason
) -> Estimate:
    if value is None:
        return Estimate(None, None, None, None, reason=reason)
    return Estimate(value, None if ci is None else ci[0], None if ci is None else ci[1], method if ci else None)
