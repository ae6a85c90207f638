"""Dataset audits."""

from __future__ import annotations

from functools import partial

from flask import Response, current_app, g
from marshmallow import Schema, fields

from fairprobe.api import telemetry
from fairprobe.api.negotiate import HTML_DOC, answer
from fairprobe.api.outbound import scorer_for
from fairprobe.api.parser import Blueprint
from fairprobe.api.work import analysis, run_long
from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.findings import AuditReport
from fairprobe.engines.audit import DatasetAudit
from fairprobe.schemas.audit import AuditRequestSchema
from fairprobe.schemas.report import AuditReportSchema
from fairprobe.settings import Settings

__all__ = ["blp"]

blp = Blueprint("audits", __name__, url_prefix="/v1", description="Audit a dataset against a fairness policy")


class AuditUploadSchema(Schema):
    """The parts of ``POST /v1/audits/upload`` (documentation only: the parser merges them into an audit)."""

    request = fields.String(required=True, metadata={
        "description": "The audit's JSON fields, as for POST /v1/audits but without 'data'.",
        "contentMediaType": "application/json"})
    data = fields.String(required=True, metadata={
        "description": "The data: a CSV file with a header row (UTF-8; the separator detected or declared), an "
                       "Arrow IPC stream or file, or a Parquet file (by the part's media type or file name).",
        "contentMediaType": "text/csv"})


@blp.route("/audits", methods=["POST"])
@blp.arguments(AuditRequestSchema)
@blp.response(200, AuditReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def create_audit(audit: AuditRequest) -> AuditReport | Response:
    """Audit a dataset (JSON rows, columns, CSV text or a counts table) and return findings and a verdict."""
    return _audit(audit)


@blp.route("/audits/upload", methods=["POST"])
@blp.upload(AuditRequestSchema, AuditUploadSchema)
@blp.response(200, AuditReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def upload_audit(audit: AuditRequest) -> AuditReport | Response:
    """Audit a file: a CSV, an Arrow IPC stream or a Parquet file.

    Send multipart/form-data with the file in part 'data' and the audit's fields in part 'request', or the file
    itself as the body (by its Content-Type) with the fields as the query parameter 'request'.
    """
    return _audit(audit)


def _audit(audit: AuditRequest) -> AuditReport | Response:
    settings: Settings = current_app.extensions["fairprobe.settings"]
    scorer = scorer_for(audit.endpoint, seed=audit.seed) if audit.endpoint is not None else None
    engine = DatasetAudit(request_id=g.request_id, scorer=scorer, max_groups=settings.max_groups,
                          max_findings=settings.max_findings)
    if scorer is None:
        with analysis():
            report = engine.run(audit)
            telemetry.current().report("audit", report)
            return answer("audit", report, AuditReportSchema())
    return run_long("audit", scorer, partial(engine.run, audit), AuditReportSchema())
