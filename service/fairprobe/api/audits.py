"""Dataset audits."""

from __future__ import annotations

from functools import partial

from flask import Response, current_app, g

from fairprobe.api import telemetry
from fairprobe.api.outbound import scorer_for
from fairprobe.api.parser import Blueprint
from fairprobe.api.work import run_long
from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.findings import AuditReport
from fairprobe.engines.audit import DatasetAudit
from fairprobe.schemas.audit import AuditRequestSchema
from fairprobe.schemas.report import AuditReportSchema
from fairprobe.settings import Settings

__all__ = ["blp"]

blp = Blueprint("audits", __name__, url_prefix="/v1", description="Audit a dataset against a fairness policy")


@blp.route("/audits", methods=["POST"])
@blp.arguments(AuditRequestSchema)
@blp.response(200, AuditReportSchema)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object",
    "required": ["request"],
    "properties": {
        "request": {"type": "string", "description": "The JSON fields of the audit, without 'data'."},
        "data": {"type": "string", "format": "binary", "description": "The data as a CSV file with a header row."},
    },
}}}})
@blp.body_errors
def create_audit(audit: AuditRequest) -> AuditReport | Response:
    """Audit a dataset (JSON rows, columns, CSV or a counts table) and return findings and a verdict."""
    settings: Settings = current_app.extensions["fairprobe.settings"]
    scorer = scorer_for(audit.endpoint, seed=audit.seed) if audit.endpoint is not None else None
    engine = DatasetAudit(request_id=g.request_id, scorer=scorer, max_groups=settings.max_groups,
                          max_findings=settings.max_findings)
    if scorer is None:
        report = engine.run(audit)
        telemetry.current().report("audit", report)
        return report
    return run_long("audit", scorer, partial(engine.run, audit), AuditReportSchema())
