"""Models trained on UCI Adult, served in every format fairprobe speaks (the demo's and the tests' models).

One WSGI app speaks every format fairprobe supports (generic JSON, MLflow, KServe v1/v2, OpenAI-style
chat, CSV) for one model. The *fair* model never sees a name; the *name-sensitive* model was trained
with the applicant's first name as a feature, after names were attached to Adult rows by race and sex
from the Bertrand–Mullainathan table (so it learns Adult's race gap through the names).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from werkzeug.wrappers import Request, Response

FEATURES = ["age", "education_num", "hours_per_week", "capital_gain", "sex"]
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
                 "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
                 "income"]


def read_adult(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?")
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([
        frame["age"].astype(float), frame["education_num"].astype(float), frame["hours_per_week"].astype(float),
        np.log1p(frame["capital_gain"].astype(float)), (frame["sex"] == "Male").astype(float),
    ])


@dataclass
class AdultModel:
    """Logistic regression on Adult; with ``names`` it also uses a one-hot of the first name."""

    names: list[str] = field(default_factory=list)
    model: LogisticRegression = field(default_factory=lambda: LogisticRegression(max_iter=2000))

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        x = _numeric(frame)
        if self.names:
            first = frame["first_name"].astype(str).to_numpy()
            x = np.column_stack([x, *[(first == n).astype(float) for n in self.names]])
        return x

    def fit(self, frame: pd.DataFrame) -> AdultModel:
        self.model.fit(self.design(frame), (frame["income"] == ">50K").to_numpy())
        return self

    def predict(self, records: list[dict[str, Any]]) -> np.ndarray:
        frame = pd.DataFrame.from_records(records)
        if "first_name" not in frame:
            frame["first_name"] = ""
        return np.asarray(self.model.predict_proba(self.design(frame))[:, 1])


def train_models(data_dir: Path) -> tuple[AdultModel, AdultModel]:
    """(fair, name_sensitive), both trained on adult-train; names attached by race × sex, seeded."""
    adult = read_adult(data_dir / "adult" / "adult-train.csv").dropna()
    adult = adult[adult["race"].isin(["White", "Black"])].reset_index(drop=True)
    names = pd.read_csv(data_dir / "names" / "bertrand_mullainathan_2004_names.csv")
    rng = np.random.default_rng(0)
    adult["first_name"] = ""
    for key, cell in adult.groupby(["race", "sex"]).groups.items():
        race, sex = (str(v).lower() for v in key)  # type: ignore[attr-defined]  # a (race, sex) pair
        pool = names[(names["race"] == race) & (names["sex"] == sex)]["first_name"].to_numpy()
        adult.loc[cell, "first_name"] = pool[rng.integers(len(pool), size=len(cell))]
    return AdultModel().fit(adult), AdultModel(names=sorted(names["first_name"])).fit(adult)


def base_profiles(data_dir: Path, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` real applicants from adult-test (White or Black), as model records with an id and a first name."""
    test = read_adult(data_dir / "adult" / "adult-test.csv").dropna()
    test = test[test["race"].isin(["White", "Black"])].sample(n=n, random_state=seed)
    numbers = ("age", "education_num", "hours_per_week", "capital_gain")
    return [
        {"id": f"p{i}", "first_name": "Pat", "last_name": "Doe", **{k: int(r[k]) for k in numbers}, "sex": r["sex"],
         "region": "north"}
        for i, r in enumerate(test.to_dict("records"))
    ]


# ------------------------------------------------------------------ the model server


#: the recommender's catalogue: ten high-margin items and twenty others
HIGH_MARGIN_ITEMS = [f"h{i}" for i in range(1, 11)]
OTHER_ITEMS = [f"o{i}" for i in range(1, 21)]


def segment_of(score: float) -> str:
    """The segmenter built on the model's score: premium from 0.5, standard from 0.2, else basic."""
    return "premium" if score >= 0.5 else "standard" if score >= 0.2 else "basic"


def recommended(score: float, k: int = 10) -> list[str]:
    """The recommender built on the model's score: the top ``k`` list opens with round(k * score)
    high-margin items, then the others."""
    high = min(k, int(round(k * score)))
    return HIGH_MARGIN_ITEMS[:high] + OTHER_ITEMS[:k - high]


class ModelApp:
    """WSGI app serving one model in every supported format; records what it received (for tests)."""

    def __init__(self, model: AdultModel) -> None:
        self.model = model
        self.calls: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def _scores(self, records: list[dict[str, Any]]) -> list[float]:
        with self._lock:
            self.batch_sizes.append(len(records))
        return [float(s) for s in self.model.predict(records)]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.calls[request.path] += 1
            self.headers_seen.append(dict(request.headers))
        body = request.get_data()
        path = request.path
        if path == "/score":  # generic JSON: {"records": [...]} -> {"predictions": [{"score": p}]}
            scores = self._scores(json.loads(body)["records"])
            out: Any = {"predictions": [{"score": s} for s in scores]}
        elif path == "/invocations":  # MLflow
            doc = json.loads(body)
            if "dataframe_split" in doc:
                split = doc["dataframe_split"]
                records = [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
            else:
                records = doc["dataframe_records"]
            out = {"predictions": self._scores(records)}
        elif path == "/v1/models/adult:predict":  # KServe v1, instances as arrays in FEATURES(+first_name) order
            instances = json.loads(body)["instances"]
            cols = [*FEATURES, "first_name"][: len(instances[0])]
            scores = self._scores([dict(zip(cols, row, strict=True)) for row in instances])
            out = {"predictions": [[1 - s, s] for s in scores]}
        elif path == "/v2/models/adult/infer":  # KServe v2 / Open Inference Protocol
            tensor = json.loads(body)["inputs"][0]
            rows, width = tensor["shape"]
            cols = [*FEATURES, "first_name"][:width]
            data = tensor["data"]
            records = [dict(zip(cols, data[i * width:(i + 1) * width], strict=True)) for i in range(rows)]
            for r in records:
                for c in ("age", "education_num", "hours_per_week", "capital_gain"):
                    r[c] = float(r[c])
            scores = self._scores(records)
            out = {"model_name": "adult", "outputs": [
                {"name": "probabilities", "shape": [rows, 2], "datatype": "FP64",
                 "data": [v for s in scores for v in (1 - s, s)]}]}
        elif path == "/segment":  # a segmenter: {"records": [...]} -> {"predictions": [{"segment": ...}]}
            scores = self._scores(json.loads(body)["records"])
            out = {"predictions": [{"segment": segment_of(s)} for s in scores]}
        elif path == "/recommend":  # a recommender: {"records": [...]} -> {"predictions": [{"items": [...]}]}
            scores = self._scores(json.loads(body)["records"])
            out = {"predictions": [{"items": recommended(s)} for s in scores]}
        elif path == "/v1/chat/completions":  # an "LLM" that reads the profile JSON from the prompt
            prompt = json.loads(body)["messages"][-1]["content"]
            profile = json.loads(re.search(r"\{.*\}", prompt, re.DOTALL).group(0))  # type: ignore[union-attr]
            score = self._scores([profile])[0]
            reply = "I cannot say." if profile.get("first_name") == "Unparseable" else f"Approval score: {score:.6f}"
            out = {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}
        elif path == "/csv":
            rows = list(csv.DictReader(io.StringIO(body.decode())))
            for r in rows:
                for c in ("age", "education_num", "hours_per_week", "capital_gain"):
                    r[c] = float(r[c])
            text = "\n".join(repr(s) for s in self._scores(rows)) + "\n"
            return Response(text, mimetype="text/csv")(environ, start_response)
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(out), mimetype="application/json")(environ, start_response)


