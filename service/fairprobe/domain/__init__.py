"""Frozen domain objects: what an audit is asked, and what it answers."""

from fairprobe.domain.audit import AuditRequest, ColumnRoles, DataKind
from fairprobe.domain.findings import (
    AttributeIndex,
    AuditRecord,
    AuditReport,
    Disparity,
    Estimate,
    Finding,
    GroupReport,
    Reason,
    Status,
)
from fairprobe.domain.groups import GroupKey, ProtectedAttribute
from fairprobe.domain.policy import Bound, Policy, Rule

__all__ = [
    "AttributeIndex",
    "AuditRecord",
    "AuditReport",
    "AuditRequest",
    "Bound",
    "ColumnRoles",
    "DataKind",
    "Disparity",
    "Estimate",
    "Finding",
    "GroupKey",
    "GroupReport",
    "Policy",
    "ProtectedAttribute",
    "Reason",
    "Rule",
    "Status",
]
