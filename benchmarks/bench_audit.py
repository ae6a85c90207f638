"""Dataset audit speed: fairprobe's engine vs AIF360 on rows, Fairlearn MetricFrame, and a bare bincount.

1M synthetic rows, 2 protected attributes (5 x 2 levels) plus their intersection, the full metric set.
Then a 300k-row JSON audit end to end over HTTP (real server on 127.0.0.1) against AIF360 alone on the
already-parsed rows. Prints times and ratios; targets from the issue: >= 50x AIF360, >= 500x Fairlearn,
within 5x of the bincount floor; HTTP end to end faster than AIF360 alone.

Run: python benchmarks/bench_audit.py [--rows 1000000] [--skip-fairlearn]
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import requests

logging.getLogger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore")

from aif360.datasets import BinaryLabelDataset  # noqa: E402
from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric  # noqa: E402

from fairprobe.domain import AuditRequest, ColumnRoles, DataKind, Policy, ProtectedAttribute  # noqa: E402
from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT  # noqa: E402
from fairprobe.engines.audit import DatasetAudit  # noqa: E402
from fairprobe.engines.policy import DEFAULT_RULES  # noqa: E402

RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate",
         "true_negative_rate", "positive_predictive_value", "negative_predictive_value", "false_discovery_rate",
         "false_omission_rate", "accuracy")
RACES = ["White", "Black", "Hispanic", "Asian", "Other"]


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(5, n, p=[0.6, 0.15, 0.15, 0.06, 0.04])
    sex = rng.integers(0, 2, n)
    y = rng.random(n) < 0.3 + 0.05 * sex
    pred = rng.random(n) < 0.25 + 0.04 * race + 0.3 * y
    return pd.DataFrame({
        "race": pd.Categorical.from_codes(race.tolist(), pd.Index(RACES)),
        "sex": pd.Categorical.from_codes(sex.tolist(), pd.Index(["F", "M"])),
        "y": y.astype(np.int8), "pred": pred.astype(np.int8),
    })


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def fairprobe_engine(df: pd.DataFrame) -> object:
    frame = pd.DataFrame({"race": df.race, "sex": df.sex, LABEL: df.y.astype(bool), PREDICTION: df.pred.astype(bool),
                          WEIGHT: 1.0})
    request = AuditRequest(
        frame=frame, kind=DataKind.ROWS,
        roles=ColumnRoles("y", "pred", None, None, None, None, 1, 1),
        protected=(ProtectedAttribute("race", "named", "White"), ProtectedAttribute("sex", "named", "M")),
        intersections=(("race", "sex"),), policy=Policy(DEFAULT_RULES, 0.05, 30, "default"), seed=0,
    )
    return DatasetAudit(request_id="bench").run(request)


def aif360_rows(df: pd.DataFrame) -> object:
    """The same metrics with AIF360 on every row: rates per group, disparities, entropy indices."""
    data = pd.DataFrame({"race": df.race.cat.codes.astype(float), "sex": df.sex.cat.codes.astype(float),
                         "y": df.y.astype(float)})
    truth = BinaryLabelDataset(df=data, label_names=["y"], protected_attribute_names=["race", "sex"],
                               favorable_label=1.0, unfavorable_label=0.0)
    predicted = truth.copy()
    predicted.labels = df.pred.to_numpy(float).reshape(-1, 1)
    groups = [({"race": float(r)}, {"race": 0.0}) for r in range(5)] + \
             [({"sex": float(s)}, {"sex": 1.0}) for s in range(2)] + \
             [({"race": float(r), "sex": float(s)}, {"race": 0.0, "sex": 1.0}) for r in range(5) for s in range(2)]
    out = []
    for group, ref in groups:
        privileged = [{next(iter(group)): -1.0}] if group == ref else [ref]
        m = ClassificationMetric(truth, predicted, unprivileged_groups=[group], privileged_groups=privileged)
        d = BinaryLabelDatasetMetric(truth, unprivileged_groups=[group], privileged_groups=privileged)
        values = [d.base_rate(privileged=False)] + [getattr(m, r)(privileged=False) for r in RATES]
        if group != ref:
            values += [m.statistical_parity_difference(), m.disparate_impact(), m.equal_opportunity_difference(),
                       m.average_odds_difference(), m.false_positive_rate_difference(),
                       m.false_negative_rate_difference(), m.difference(m.positive_predictive_value),
                       m.difference(m.accuracy)]
        out.append(values)
    for names in (["race"], ["sex"], ["race", "sex"]):
        t = BinaryLabelDataset(df=data[[*names, "y"]], label_names=["y"], protected_attribute_names=names)
        p = t.copy()
        p.labels = predicted.labels
        m = ClassificationMetric(t, p)
        out.append([m.between_all_groups_generalized_entropy_index(2), m.between_all_groups_theil_index()])
    m = ClassificationMetric(truth, predicted)
    out.append([m.generalized_entropy_index(), m.theil_index()])
    return out


def fairlearn_frame(df: pd.DataFrame) -> object:
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
               "fnr": false_negative_rate, "tnr": true_negative_rate, "accuracy": accuracy_score,
               "ppv": lambda y, p: precision_score(y, p, zero_division=0),
               "base_rate": lambda y, p: float(np.mean(y))}
    frames = []
    for features in (df[["race"]], df[["sex"]], df[["race", "sex"]]):
        frame = MetricFrame(metrics=metrics, y_true=df.y, y_pred=df.pred, sensitive_features=features)
        frames.append((frame.by_group, frame.difference(), frame.ratio()))
    return frames


def bincount_floor(df: pd.DataFrame) -> object:
    cell = ((df.race.cat.codes.to_numpy(np.int64) * 2 + df.sex.cat.codes.to_numpy()) * 2 + df.y.to_numpy()) * 2 \
        + df.pred.to_numpy()
    return np.bincount(cell, minlength=40)


def http_end_to_end(rows: int) -> tuple[float, float]:
    from werkzeug.serving import make_server

    from fairprobe import Settings, create_app

    df = synthetic(rows, seed=1)
    records = pd.DataFrame({"race": df.race.astype(str), "sex": df.sex.astype(str), "y": df.y.astype(int),
                            "pred": df.pred.astype(int)}).to_dict("records")
    body = {"data": {"records": records}, "label": "y", "prediction": "pred",
            "protected": [{"attribute": "race", "reference": "White"}, {"attribute": "sex", "reference": "M"}],
            "intersections": [["race", "sex"]]}
    import json

    payload = json.dumps(body).encode()
    server = make_server("127.0.0.1", 0, create_app(Settings()), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1/audits"
    session = requests.Session()

    def post() -> None:
        response = session.post(url, data=payload, headers={"Content-Type": "application/json"}, timeout=300)
        assert response.status_code == 200, response.text[:300]

    try:
        http = best_of(3, post)
    finally:
        server.shutdown()
    parsed = df  # AIF360 gets the rows already parsed
    aif = best_of(2, lambda: aif360_rows(parsed))
    return http, aif


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--http-rows", type=int, default=300_000)
    parser.add_argument("--skip-fairlearn", action="store_true")
    args = parser.parse_args()

    df = synthetic(args.rows)
    fairprobe_engine(df)  # warm imports and caches
    a = best_of(5, lambda: fairprobe_engine(df))
    b = best_of(2, lambda: aif360_rows(df))
    d = best_of(20, lambda: bincount_floor(df))
    print(f"rows: {args.rows:,}; groups: 5 race + 2 sex + 10 intersections; full metric set")
    print(f"(a) fairprobe engine        {a:9.4f} s")
    print(f"(b) AIF360 on rows          {b:9.4f} s   ratio b/a = {b / a:8.1f}x  (target >= 50x)")
    if not args.skip_fairlearn:
        c = best_of(1, lambda: fairlearn_frame(df))
        print(f"(c) Fairlearn MetricFrame   {c:9.4f} s   ratio c/a = {c / a:8.1f}x  (target >= 500x)")
    print(f"(d) numpy bincount floor    {d:9.4f} s   ratio a/d = {a / d:8.1f}x  (target <= 5x)")
    http, aif = http_end_to_end(args.http_rows)
    print(f"HTTP end to end, {args.http_rows:,} JSON rows: {http:.3f} s; AIF360 alone on parsed rows: {aif:.3f} s; "
          f"ratio = {aif / http:.2f}x (target > 1)")


if __name__ == "__main__":
    main()
