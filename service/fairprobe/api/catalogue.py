"""The metric catalogue."""

from __future__ import annotations

from typing import Any

from fairprobe.api.parser import Blueprint
from fairprobe.engines.catalogue import CATALOGUE, DECISION_RULES
from fairprobe.schemas.catalogue import MetricsCatalogueSchema

__all__ = ["blp"]

blp = Blueprint("metrics", __name__, url_prefix="/v1", description="What each metric means")


@blp.route("/metrics", methods=["GET"])
@blp.response(200, MetricsCatalogueSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_metrics() -> dict[str, Any]:
    """Every metric (formula, ideal, worse direction, AIF360 source) and how a status is decided."""
    return {"metrics": list(CATALOGUE.values()), "decision_rules": list(DECISION_RULES)}
