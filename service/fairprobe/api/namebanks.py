"""The name banks counterfactual probes draw from, with thresholds and provenance."""

from __future__ import annotations

from flask import abort

from fairprobe.api.parser import Blueprint
from fairprobe.domain.names import NameBank
from fairprobe.namebanks import load_banks
from fairprobe.schemas.probe_report import NameBankSchema, NameBankSummarySchema

__all__ = ["blp"]

blp = Blueprint("name-banks", __name__, url_prefix="/v1/name-banks", description="Name banks and their sources")


@blp.route("", methods=["GET"])
@blp.response(200, NameBankSummarySchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_name_banks() -> list[NameBank]:
    """List the name banks: groups and their sizes, selection thresholds, sources and licence."""
    return list(load_banks().values())


@blp.route("/<bank_id>", methods=["GET"])
@blp.response(200, NameBankSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_name_bank(bank_id: str) -> NameBank:
    """One name bank with every name and the share and count behind its selection."""
    bank = load_banks().get(bank_id)
    if bank is None:
        abort(404, description=f"no name bank {bank_id!r}; see /v1/name-banks")
    return bank
