"""Stress tests and discrimination searches against German-credit models that are direct, proxy or blind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from demo.credit import REFERENCE, CreditModel
from flask.testing import FlaskClient
from scipy import stats as sps

from fairprobe.domain.endpoint import Accounting, EndpointSpec, Format, FormatOptions, Output, ProbeFailure, Scored
from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.domain.stress import Condition, EdgeFamily, Generator, StressRequest, TargetGroup
from fairprobe.engines.stress import StressTest
from fairprobe.engines.synthesis import CopulaSampler

GROUPS = [
    {"name": "male", "where": {"sex": "male"}},
    {"name": "female", "where": {"sex": "female"}},
    {"name": "female_under_25", "where": {"sex": "female", "age": {"max": 25}}},
]


def endpoint(url: str, kind: str) -> dict[str, Any]:
    return {"url": f"{url}/{kind}", "format": "json", "response_path": "predictions[*].score", "batch_size": 200}


def generator(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"reference": {"data": {"records": records}, "protected": ["sex", "personal_status"]}}


@pytest.mark.parametrize(("kind", "verdict"), [("direct", "fail"), ("proxy", "fail"), ("blind", "pass")])
def test_the_stress_test_separates_the_models(client: FlaskClient, credit_server: str, kind: str, verdict: str,
                                              reference_records: list[dict[str, Any]]) -> None:
    body = {"endpoint": endpoint(credit_server, kind), "generator": generator(reference_records), "groups": GROUPS,
            "reference": "male", "profiles_per_group": 400, "edge_cases": [], "seed": 5}
    response = client.post("/v1/stress", json=body)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["verdict"] == verdict, report["findings"]
    assert report["accounting"]["sent"] == report["accounting"]["answered"] == 3 * 400
    female = next(f for f in report["findings"]
                  if f["group"] == {"sex": "female"} and f["metric"] == "disparate_impact")
    if verdict == "fail":
        assert female["status"] == "fail" and female["value"] < 0.8 and female["p_value_adjusted"] < 0.05
    else:
        assert female["status"] == "pass" and female["ci_low"] > 0.8
    groups = {g["name"]: g for g in report["groups"]}
    assert all(g["profiles"] == 400 for g in groups.values())
    assert groups["female"]["marginals"] == "group"
    assert report["stress"]["seed"] == 5


@pytest.mark.parametrize("kind", ["direct", "proxy", "blind"])
def test_the_causal_discrimination_rate_separates_them(client: FlaskClient, credit_server: str, kind: str,
                                                       reference_records: list[dict[str, Any]]) -> None:
    body = {"endpoint": endpoint(credit_server, kind), "generator": generator(reference_records),
            "protected": {"sex": ["female", "male"]}, "precision": 0.01, "max_probes": 4000, "seed": 2}
    report = client.post("/v1/stress/discrimination", json=body).get_json()
    causal = report["causal"]
    assert report["accounting"]["sent"] == causal["probes"] == 2 * causal["profiles_tested"]
    if kind == "direct":
        assert causal["rate"]["ci_low"] > 0.05  # significantly above zero
        assert causal["examples"] and all(len({v["decision"] for v in e["variants"]}) == 2
                                          for e in causal["examples"])
        assert causal["stopped"] == "budget"
    else:  # the proxy model never reads `sex`; the blind one reads no protected field
        assert causal["discriminatory"] == 0 and causal["rate"]["value"] == 0
        assert causal["rate"]["ci_high"] <= 0.02 and causal["stopped"] == "precision"
        assert causal["examples"] == []


def test_directed_search_beats_random_sampling(client: FlaskClient, credit_server: str,
                                               reference_records: list[dict[str, Any]]) -> None:
    body = {"endpoint": endpoint(credit_server, "direct"), "generator": generator(reference_records),
            "protected": {"sex": ["female", "male"]}, "methods": ["directed"], "max_probes": 2000, "seed": 11}
    directed = client.post("/v1/stress/discrimination", json=body).get_json()["directed"]
    assert directed["directed_probes"] == directed["random_probes"] == 2000
    assert directed["directed_found"] > directed["random_found"] > 0
    assert directed["ratio"] == pytest.approx(directed["directed_found"] / directed["random_found"])


def test_fitted_profiles_keep_the_groups_marginals_and_dependence(german: pd.DataFrame) -> None:
    """Tolerance: category shares within 0.03, numeric Kolmogorov-Smirnov distance within 0.05 (n = 5000),
    and the pooled Spearman correlation of duration and amount within 0.1."""
    frame = german[REFERENCE]
    sampler = CopulaSampler(frame, min_group_rows=30)
    rng = np.random.default_rng(0)
    for sex in ("female", "male"):
        real = frame[frame["sex"] == sex]
        synthetic = pd.DataFrame(sampler.sample({"sex": Condition(value=sex)}, 5000, rng))
        assert (synthetic["sex"] == sex).all()
        for column in ("purpose", "housing", "personal_status"):
            shares = real[column].value_counts(normalize=True)
            got = synthetic[column].value_counts(normalize=True).reindex(shares.index, fill_value=0)
            assert (got - shares).abs().max() <= 0.03, (sex, column)
        for column in ("month", "credit_amount", "age"):
            assert sps.ks_2samp(synthetic[column], real[column]).statistic <= 0.05, (sex, column)
    everyone = pd.DataFrame(sampler.sample(None, 5000, rng))
    real_rho = sps.spearmanr(frame["month"], frame["credit_amount"]).statistic
    assert sps.spearmanr(everyone["month"], everyone["credit_amount"]).statistic == pytest.approx(real_rho, abs=0.1)


def test_small_groups_reach_their_size_and_keep_their_conditions(german: pd.DataFrame) -> None:
    frame = german[REFERENCE]
    sampler = CopulaSampler(frame, min_group_rows=30)
    where = {"sex": Condition(value="female"), "age": Condition(low=60)}
    pooled = sampler.pooled_rows(where)
    assert pooled is not None and pooled < 30  # an under-represented intersection
    profiles = sampler.sample(where, 500, np.random.default_rng(1))
    assert len(profiles) == 500
    assert all(p["sex"] == "female" and float(p["age"] or 0) >= 60 for p in profiles)


class LocalScorer:
    """Scores with the credit model in-process and keeps what it was sent (to recount by hand)."""

    def __init__(self, model: CreditModel, kind: str, fail: Any = None) -> None:
        self.model, self.kind, self.fail = model, kind, fail
        self.sent: list[Mapping[str, Any]] = []

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        self.sent = list(records)
        failures = [ProbeFailure.INVALID_VALUE if self.fail and self.fail(r) else None for r in records]
        scores = self.model.score(self.kind, [dict(r, month=r.get("month") or 12) for r in records])
        n = len(records)
        return Scored(tuple(None if f else float(s) for s, f in zip(scores, failures, strict=True)),
                      tuple(None if f else bool(s >= 0.5) for s, f in zip(scores, failures, strict=True)),
                      tuple(failures), Accounting(n, n - sum(map(bool, failures)), sum(map(bool, failures)),
                                                  {}, {}, 1, 0, 0.0, 1.0))


def test_rates_match_a_hand_count_and_edge_failures_are_located(german: pd.DataFrame,
                                                                 credit_model: CreditModel) -> None:
    frame = german[REFERENCE].assign(month=german["month"].astype(float))
    frame.loc[frame.index[:50], "month"] = np.nan  # an optional field
    groups = (TargetGroup("male", {"sex": Condition(value="male")}),
              TargetGroup("female", {"sex": Condition(value="female")}))
    request = StressRequest(
        endpoint=EndpointSpec("http://x/", Format.JSON, FormatOptions(), Output.SCORE, 0.5, 1),
        generator=Generator(kind="reference", reference=frame, protected=("sex", "personal_status")),
        groups=groups, reference="male", profiles_per_group=300, edge_cases=tuple(EdgeFamily),
        edge_profiles_per_group=40, policy=Policy((Rule("disparate_impact", Bound.MIN, 0.8),), 0.05, 30, "request"),
        seed=3)
    # rare purposes fail only for women: the failures concentrate in one group
    rarest = frame["purpose"].value_counts().idxmin()
    scorer = LocalScorer(credit_model, "direct", fail=lambda r: r["sex"] == "female" and r["purpose"] == rarest)
    report = StressTest(request_id="t", scorer=scorer).run(request)
    for i, group in enumerate(report.groups):
        answered = [r for r in scorer.sent[i * 300:(i + 1) * 300]
                    if not (r["sex"] == "female" and r["purpose"] == rarest)]
        positives = sum(credit_model.score("direct", [dict(r, month=r["month"] or 12)])[0] >= 0.5 for r in answered)
        assert group.answered == len(answered)
        assert group.metrics["positive_rate"].value == pytest.approx(positives / len(answered), abs=1e-12)
    edges = {e.family: e for e in report.edge_cases}
    assert edges[EdgeFamily.RARE].concentrated and edges[EdgeFamily.RARE].failures_by_group == {"male": 0, "female": 40}
    assert edges[EdgeFamily.MISSING].applicable and not edges[EdgeFamily.MISSING].concentrated
    assert not edges[EdgeFamily.LONG_NAMES].applicable and "no name field" in edges[EdgeFamily.LONG_NAMES].note
    assert edges[EdgeFamily.BOUNDARY].profiles == 80


def test_the_deadline_covers_the_whole_search(client: FlaskClient, reference_records: list[dict[str, Any]]) -> None:
    import time

    from demo.serving import serve

    from tests.model_servers import FaultApp

    with serve(FaultApp()) as url:
        body = {"endpoint": {"url": url + "/timeout", "format": "json", "response_path": "predictions[*].score",
                             "timeout_s": 0.5, "deadline_s": 2, "batch_size": 50, "concurrency": 2, "retries": 0},
                "generator": generator(reference_records), "protected": {"sex": ["female", "male"]},
                "max_probes": 2000, "batch_profiles": 50, "methods": ["causal"]}
        started = time.monotonic()
        response = client.post("/v1/stress/discrimination", json=body)
        elapsed = time.monotonic() - started
    assert elapsed < 2 + 1.5  # one call's timeout of slack past the deadline
    # the model answered nothing: no verdict, a 502 problem with the accounting of every probe
    assert response.status_code == 502 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/model-unavailable")
    a = problem["accounting"]
    assert a["sent"] == a["answered"] + a["failed"] and a["answered"] == 0 and a["sent"] > 0
    assert set(a["failures"]) <= {"timeout", "deadline_exceeded"} and "deadline_exceeded" in a["failures"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("methods", [["causal"], ["directed"]])
def test_a_search_against_a_dead_endpoint_stops_early(client: FlaskClient, reference_records: list[dict[str, Any]],
                                                       methods: list[str]) -> None:
    port = _closed_port()  # nothing listens: every call is refused
    body = {"endpoint": {"url": f"http://127.0.0.1:{port}/score", "format": "json",
                         "response_path": "predictions[*].score", "batch_size": 10, "retries": 0},
            "generator": generator(reference_records), "protected": {"sex": ["female", "male"]},
            "max_probes": 4000, "batch_profiles": 10, "methods": methods}
    response = client.post("/v1/stress/discrimination", json=body)
    assert response.status_code == 502
    a = response.get_json()["accounting"]
    assert a["answered"] == 0 and a["failures"] == {"connection_error": a["sent"]}
    # three dead calls of 10 profiles x 2 variants, not the 4,000-probe budget (directed: nor its baseline)
    assert a["sent"] == 3 * 20


@pytest.mark.parametrize("path", ["/error500", "/unauthorized"])
def test_a_probe_whose_model_answers_nothing_is_a_502_with_the_accounting(
        client: FlaskClient, path: str, reference_records: list[dict[str, Any]]) -> None:
    from demo.serving import serve

    from tests.model_servers import FaultApp

    profiles = [{"id": f"p{i}", "first_name": "Pat", "age": 30 + i} for i in range(5)]
    with serve(FaultApp()) as url:
        endpoint = {"url": url + path, "format": "json", "response_path": "predictions[*].score", "retries": 0}
        name_swap = client.post("/v1/probes/name-swap", json={
            "endpoint": endpoint, "profiles": {"records": profiles}, "id_field": "id",
            "name_fields": {"first_name": "first_name"}, "reference": "white_male", "names_per_group": 1})
        stress = client.post("/v1/stress", json={
            "endpoint": endpoint, "generator": generator(reference_records), "profiles_per_group": 5,
            "edge_cases": [], "groups": [{"name": "f", "where": {"sex": "female"}},
                                          {"name": "m", "where": {"sex": "male"}}], "reference": "m"})
    for response, sent in ((name_swap, 5 * 4), (stress, 10)):
        assert response.status_code == 502, response.get_json()
        problem = response.get_json()
        assert problem["accounting"]["sent"] == sent and problem["accounting"]["answered"] == 0
        failures = problem["accounting"]["failures"]
        assert sum(failures.values()) == sent and set(failures) <= {"http_error", "abandoned"}


@pytest.mark.parametrize(("kind", "verdict"), [("direct", "fail"), ("blind", "pass")])
def test_a_stress_test_of_a_segmenter_judges_placement_in_the_valuable_tier(
        client: FlaskClient, credit_server: str, kind: str, verdict: str,
        reference_records: list[dict[str, Any]]) -> None:
    """The same models read as segmenters (gold, silver, bronze tiers): placement in gold or silver is the decision."""
    body = {"endpoint": {**endpoint(credit_server, kind), "response_path": "predictions[*].tier",
                         "output": "segment", "valuable_segments": ["gold", "silver"]},
            "generator": generator(reference_records), "groups": GROUPS[:2], "reference": "male",
            "profiles_per_group": 400, "edge_cases": [], "seed": 5,
            "policy": {"rules": [{"metric": "disparate_impact", "min": 0.8}]}}
    response = client.post("/v1/stress", json=body)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["verdict"] == verdict, report["findings"]
    assert report["accounting"]["answered"] == 800
