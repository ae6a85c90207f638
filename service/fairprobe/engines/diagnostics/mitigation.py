"""Mitigation advice, labelled as advice and never applied: reweighing weights for retraining.

Reweighing (Kamiran & Calders 2012; AIF360's ``Reweighing``) gives every person of group ``g`` with label ``y``
the weight ``W(g, y) = P(g) P(y) / P(g, y) = n_g n_y / (n n_gy)``, so that in the reweighed data the label is
independent of the group. With two groups this is exactly AIF360's privileged / unprivileged weighting; with
more it weighs every value of the attribute the same way. It needs only the counts table. The section
re-audits the labels under the weights: every group's favorable-label rate becomes the overall one, so the
label disparities it would leave are reported beside the ones the data have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairprobe.domain.audit import SCORE, AuditRequest
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.engines.diagnostics.common import finite
from fairprobe.engines.diagnostics.thresholds import Reaudit, calibration, thresholds
from fairprobe.engines.diagnostics.thresholds import __doc__ as _THRESHOLDS_DOC
from fairprobe.engines.groups import Partition

THRESHOLDS_METHOD = (_THRESHOLDS_DOC or "").split("\n\n", 1)[-1].replace("\n", " ").strip()

__all__ = ["mitigation"]

METHOD = ("Advice only, never applied. Reweighing (Kamiran & Calders 2012, AIF360's Reweighing): the weight of "
          "group g with label y is n_g n_y / (n n_gy), counted on people (sample weights as given are not "
          "multiplied in), for each single protected attribute; in the reweighed data every group's favorable-"
          "label rate is the overall one. label_spd_before and label_spd_after are the label statistical parity "
          "differences against the reference without and with the weights.")


def mitigation(request: AuditRequest, parts: Sequence[Partition], reaudit: Reaudit | None) -> Section:
    favorable_is_positive = request.roles.favorable_is_positive
    rows: list[dict[str, Any]] = []
    effects: list[dict[str, Any]] = []
    for part in parts:
        if len(part.attributes) > 1:
            continue
        # people by group and label (summed over predictions): [group, label]
        people = part.table.people.sum(axis=2)
        n = people.sum()
        n_g, n_y = people.sum(axis=1), people.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.outer(n_g, n_y) / (n * people)
        fav = 1 if favorable_is_positive else 0
        for i, key in enumerate(part.keys):
            for y in (0, 1):
                rows.append({"attribute": part.attributes[0], "group": key.as_dict(), "label_favorable": y == fav,
                             "n": int(round(people[i, y])), "weight": finite(weight[i, y])
                             if people[i, y] > 0 else None})
        r = part.reference
        with np.errstate(divide="ignore", invalid="ignore"):  # an empty cell has no weight, a group no rate
            rate = people[:, fav] / n_g
            weighted = np.where(people > 0, people * np.where(people > 0, weight, 0.0), 0.0)
            rate_after = weighted[:, fav] / weighted.sum(axis=1)
        for i, key in enumerate(part.keys):
            if i == r:
                continue
            effects.append({"attribute": part.attributes[0], "group": key.as_dict(),
                            "reference": part.keys[r].as_dict(),
                            "label_spd_before": finite(rate[i] - rate[r]),
                            "label_spd_after": finite(rate_after[i] - rate_after[r])})
    tables: dict[str, tuple[dict[str, Any], ...]] = {"reweighing": tuple(rows), "effect": tuple(effects)}
    notes = ["advice: fairprobe changes no data and no model"]
    if SCORE in request.frame and reaudit is not None and request.predicted:
        options = thresholds(request, parts, reaudit)
        tables["thresholds"] = tuple(options)
        tables["calibration"] = tuple(calibration(request, parts))
        notes.append("thresholds: " + THRESHOLDS_METHOD)
        constrained = [o for o in options if "policy_verdict" in o]
        if constrained and not any(o["policy_verdict"] == "pass" for o in constrained):
            closest = min(constrained, key=lambda o: (o["policy_failing"], -o["accuracy"]))
            notes.append(f"no threshold option meets the policy; the closest is {closest['constraint']} on "
                         f"{closest['attribute']} ({closest['policy_failing']} failing findings, accuracy "
                         f"{closest['accuracy']:.4g})")
    else:
        notes.append("per-group thresholds need a score column (score with threshold)")
    return Section(SectionName.MITIGATION, METHOD, tables, notes=tuple(notes))
