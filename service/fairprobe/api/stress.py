"""Synthetic-profile stress tests and individual-discrimination searches against a model endpoint."""

from __future__ import annotations

from functools import partial

from flask import Response, g

from fairprobe.api.negotiate import HTML_DOC
from fairprobe.api.outbound import scorer_for
from fairprobe.api.parser import Blueprint
from fairprobe.api.work import run_long
from fairprobe.domain.stress import DiscriminationReport, DiscriminationRequest, StressReport, StressRequest
from fairprobe.engines.discrimination import DiscriminationSearch
from fairprobe.engines.stress import StressTest
from fairprobe.schemas.stress import DiscriminationRequestSchema, StressRequestSchema
from fairprobe.schemas.stress_report import DiscriminationReportSchema, StressReportSchema

__all__ = ["blp"]

blp = Blueprint("stress", __name__, url_prefix="/v1/stress",
                description="Stress a model endpoint with synthetic profiles; search for discrimination")


@blp.route("", methods=["POST"])
@blp.arguments(StressRequestSchema)
@blp.response(200, StressReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def run_stress_test(request: StressRequest) -> StressReport | Response:
    """Oversample target groups with synthetic profiles and edge cases; compare outcomes with the reference."""
    scorer = scorer_for(request.endpoint, seed=request.seed)
    engine = StressTest(request_id=g.request_id, scorer=scorer)
    return run_long("stress", scorer, partial(engine.run, request), StressReportSchema())


@blp.route("/discrimination", methods=["POST"])
@blp.arguments(DiscriminationRequestSchema)
@blp.response(200, DiscriminationReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def search_discrimination(request: DiscriminationRequest) -> DiscriminationReport | Response:
    """Causal discrimination rate (Themis) and directed search (AEQUITAS) against random sampling."""
    scorer = scorer_for(request.endpoint, seed=request.seed)
    engine = DiscriminationSearch(request_id=g.request_id, scorer=scorer)
    return run_long("search", scorer, partial(engine.run, request), DiscriminationReportSchema())
