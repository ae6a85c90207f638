"""Counterfactual probes of a model endpoint: name swaps and attribute flips."""

from __future__ import annotations

from functools import partial

from flask import Response, g

from fairprobe.api.negotiate import HTML_DOC
from fairprobe.api.outbound import scorer_for
from fairprobe.api.parser import Blueprint
from fairprobe.api.work import run_long
from fairprobe.domain.probes import FlipRequest, NameSwapRequest, ProbeReport
from fairprobe.engines.counterfactual import AttributeFlipProbe, NameSwapProbe
from fairprobe.schemas.probe_report import ProbeReportSchema
from fairprobe.schemas.probes import FlipRequestSchema, NameSwapRequestSchema

__all__ = ["blp"]

blp = Blueprint("probes", __name__, url_prefix="/v1/probes",
                description="Probe a black-box model endpoint with counterfactual profiles")


@blp.route("/name-swap", methods=["POST"])
@blp.arguments(NameSwapRequestSchema)
@blp.response(200, ProbeReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def probe_name_swap(probe: NameSwapRequest) -> ProbeReport | Response:
    """Send each profile with only the name changed; compare every name group with the reference."""
    scorer = scorer_for(probe.endpoint, seed=probe.seed)
    engine = NameSwapProbe(request_id=g.request_id, scorer=scorer)
    return run_long("probe", scorer, partial(engine.run, probe), ProbeReportSchema())


@blp.route("/flip", methods=["POST"])
@blp.arguments(FlipRequestSchema)
@blp.response(200, ProbeReportSchema)
@blp.body_errors
@blp.doc(**HTML_DOC)
def probe_flip(probe: FlipRequest) -> ProbeReport | Response:
    """Send each profile with a protected attribute (and its proxies) flipped; compare with the original."""
    scorer = scorer_for(probe.endpoint, seed=probe.seed)
    engine = AttributeFlipProbe(request_id=g.request_id, scorer=scorer)
    return run_long("probe", scorer, partial(engine.run, probe), ProbeReportSchema())
