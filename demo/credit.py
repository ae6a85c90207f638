"""Credit models trained on UCI German credit, served over HTTP (the demo's stress-test models, and the tests').

One logistic regression is trained on the non-protected fields (duration, amount, age, instalment
rate, years at residence, number of credits). Three models are served around it:
*direct* lowers the logit by ``PENALTY`` when the ``sex`` field is female; *proxy* lowers it when
``personal_status`` is a female code (A92/A95) and never reads ``sex``; *blind* uses neither.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from werkzeug.wrappers import Request, Response

GERMAN_COLUMNS = ["status", "month", "credit_history", "purpose", "credit_amount", "savings", "employment",
                  "investment_as_income_percentage", "personal_status", "other_debtors", "residence_since",
                  "property", "age", "installment_plans", "housing", "number_of_credits", "skill_level",
                  "people_liable_for", "telephone", "foreign_worker", "credit"]
NUMERIC = ["month", "credit_amount", "age", "investment_as_income_percentage", "residence_since",
           "number_of_credits"]
REFERENCE = [*NUMERIC, "purpose", "housing", "personal_status", "sex"]
FEMALE_STATUS = ("A92", "A95")
PENALTY = 1.0


def read_german(data_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_dir / "german" / "german.csv", header=None, names=GERMAN_COLUMNS)
    frame["sex"] = np.where(frame["personal_status"].isin(FEMALE_STATUS), "female", "male")
    return frame


class CreditModel:
    def __init__(self, german: pd.DataFrame) -> None:
        self.model = LogisticRegression(max_iter=5000).fit(self._x(german), german["credit"] == 1)

    @staticmethod
    def _x(frame: pd.DataFrame) -> np.ndarray:
        x = frame[NUMERIC].astype(float).to_numpy().copy()
        x[:, 1] = np.log(x[:, 1])
        return x

    def logit(self, records: list[dict[str, Any]]) -> np.ndarray:
        frame = pd.DataFrame.from_records(records)
        return np.asarray(self.model.decision_function(self._x(frame)), dtype=float)

    def score(self, kind: str, records: list[dict[str, Any]]) -> np.ndarray:
        logit = self.logit(records)
        if kind == "direct":
            logit = logit - PENALTY * np.array([r.get("sex") == "female" for r in records])
        elif kind == "proxy":
            logit = logit - PENALTY * np.array([r.get("personal_status") in FEMALE_STATUS for r in records])
        return np.asarray(1 / (1 + np.exp(-logit)))


def tier_of(score: float) -> str:
    """The credit tier of a score: gold from 0.8, silver from 0.6, else bronze."""
    return "gold" if score >= 0.8 else "silver" if score >= 0.6 else "bronze"


class CreditApp:
    """POST /direct, /proxy or /blind with {"records": [...]} -> {"predictions": [{"score": p, "tier": t}]}: the
    score, and the credit tier a segmenter built on it assigns (gold from 0.8, silver from 0.6, else bronze)."""

    def __init__(self, model: CreditModel) -> None:
        self.model = model
        self.records = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        kind = request.path.strip("/")
        if kind not in ("direct", "proxy", "blind"):
            return Response("not found", status=404)(environ, start_response)
        records = json.loads(request.get_data())["records"]
        with self._lock:
            self.records += len(records)
        if any(not isinstance(r.get("month"), int | float) for r in records):  # a field left out: refuse
            return Response(json.dumps({"error": "month missing"}), status=422,
                            mimetype="application/json")(environ, start_response)
        scores = self.model.score(kind, records)
        body = json.dumps({"predictions": [{"score": float(s), "tier": tier_of(float(s))} for s in scores]})
        return Response(body, mimetype="application/json")(environ, start_response)
