"""Real model servers for the probe tests: scikit-learn models trained on UCI Adult, served over HTTP.

One WSGI app speaks every format fairprobe supports (generic JSON, MLflow, KServe v1/v2, OpenAI-style
chat, CSV) for one model. The *fair* model never sees a name; the *name-sensitive* model was trained
with the applicant's first name as a feature, after names were attached to Adult rows by race and sex
from the Bertrand–Mullainathan table (so it learns Adult's race gap through the names). A fault app
injects timeouts, 5xx, 429 with Retry-After, garbage, wrong lengths, slow bodies and redirects.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from werkzeug.serving import WSGIRequestHandler, make_server
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
        return self.model.predict_proba(self.design(frame))[:, 1]


def train_models(data_dir: Path) -> tuple[AdultModel, AdultModel]:
    """(fair, name_sensitive), both trained on adult-train; names attached by race × sex, seeded."""
    adult = read_adult(data_dir / "adult" / "adult-train.csv").dropna()
    adult = adult[adult["race"].isin(["White", "Black"])].reset_index(drop=True)
    names = pd.read_csv(data_dir / "names" / "bertrand_mullainathan_2004_names.csv")
    rng = np.random.default_rng(0)
    adult["first_name"] = ""
    for (race, sex), cell in adult.groupby(["race", "sex"]).groups.items():
        pool = names[(names["race"] == race.lower()) & (names["sex"] == sex.lower())]["first_name"].to_numpy()
        adult.loc[cell, "first_name"] = pool[rng.integers(len(pool), size=len(cell))]
    return AdultModel().fit(adult), AdultModel(names=sorted(names["first_name"])).fit(adult)


def base_profiles(data_dir: Path, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` real applicants from adult-test (White or Black), as model records with an id and a first name."""
    test = read_adult(data_dir / "adult" / "adult-test.csv").dropna()
    test = test[test["race"].isin(["White", "Black"])].sample(n=n, random_state=seed)
    return [
        {"id": f"p{i}", "first_name": "Pat", "last_name": "Doe", "age": int(r.age),
         "education_num": int(r.education_num), "hours_per_week": int(r.hours_per_week),
         "capital_gain": int(r.capital_gain), "sex": r.sex,
         "region": "north"}
        for i, r in enumerate(test.itertuples())
    ]


# ------------------------------------------------------------------ the model server


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


# ------------------------------------------------------------------ the fault server


class FaultApp:
    """Misbehaves by path, answering a constant score when it answers at all.

    /timeout sleeps 3 s; /error500 always 500; /flaky fails the first call of every batch size with 503;
    /ratelimit answers 429 with Retry-After: 1 to the first call, then works; /garbage is not JSON;
    /short answers one value too few; /drip sends its body a byte every 0.3 s; /batchfail answers 500 to
    any call with more than one record; /redirect sends 302 to ``?to=``; /unauthorized answers 401;
    /badrequest answers 400.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seen_batch_sizes: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path
        try:
            n = len(json.loads(request.get_data())["records"])
        except (ValueError, KeyError, TypeError):
            n = 1
        with self._lock:
            self.calls[path] += 1
            first_of_size = (path, n) not in self.seen_batch_sizes
            self.seen_batch_sizes.add((path, n))
            first_call = self.calls[path] == 1
        ok = json.dumps({"predictions": [{"score": 0.7}] * n})
        if path == "/ok":
            response = Response(ok, mimetype="application/json")
        elif path == "/timeout":
            time.sleep(3)
            response = Response(ok, mimetype="application/json")
        elif path == "/error500":
            response = Response("boom", status=500)
        elif path == "/flaky":
            response = Response("busy", status=503) if first_of_size else Response(ok, mimetype="application/json")
        elif path == "/ratelimit":
            response = (Response("slow down", status=429, headers={"Retry-After": "1"}) if first_call
                        else Response(ok, mimetype="application/json"))
        elif path == "/garbage":
            response = Response("<html>not json{", mimetype="application/json")
        elif path == "/short":
            response = Response(json.dumps({"predictions": [{"score": 0.7}] * max(0, n - 1)}),
                                mimetype="application/json")
        elif path == "/drip":
            def drip() -> Iterator[bytes]:
                for byte in ok.encode():
                    time.sleep(0.3)
                    yield bytes([byte])
            response = Response(drip(), mimetype="application/json")
        elif path == "/batchfail":
            response = (Response("too many", status=500) if n > 1 else Response(ok, mimetype="application/json"))
        elif path == "/redirect":
            response = Response("", status=302, headers={"Location": request.args.get("to", "/ok")})
        elif path == "/unauthorized":
            response = Response(json.dumps({"error": "bad key"}), status=401, mimetype="application/json")
        elif path == "/badrequest":
            response = Response(json.dumps({"error": "no such field"}), status=400, mimetype="application/json")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log line per request (the tests' output stays readable)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the duration of the block."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
