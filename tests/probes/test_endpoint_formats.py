"""Every format preset against a real model server: the scores that come back are the model's own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from demo.adult import FEATURES, AdultModel, ModelApp

from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output
from fairprobe.endpoints import EndpointClient, TargetGuard
from tests.probes.conftest import LOOPBACK

WITH_NAME = [*FEATURES, "first_name"]

CASES: dict[str, tuple[Format, str, FormatOptions]] = {
    "json": (Format.JSON, "/score", FormatOptions(response_path="predictions[*].score")),
    "json-record-template": (Format.JSON, "/score", FormatOptions(
        response_path="predictions[*].score", body_template={"records": "{{records}}"},
        record_template={f: "{" + f + "}" for f in WITH_NAME})),
    "mlflow-split": (Format.MLFLOW, "/invocations", FormatOptions(fields=tuple(WITH_NAME))),
    "mlflow-records": (Format.MLFLOW, "/invocations", FormatOptions(mlflow_orient="records")),
    "kserve-v1": (Format.KSERVE_V1, "/v1/models/adult:predict", FormatOptions(fields=tuple(WITH_NAME))),
    "kserve-v2": (Format.KSERVE_V2, "/v2/models/adult/infer", FormatOptions(fields=tuple(WITH_NAME))),
    "openai-chat": (Format.OPENAI_CHAT, "/v1/chat/completions", FormatOptions(
        model="scorer-1", prompt="Rate this applicant from 0 to 1: {profile}", extract_regex=r"score: ([0-9.]+)")),
    "csv": (Format.CSV, "/csv", FormatOptions(fields=tuple(WITH_NAME))),
}


def client_for(url: str, fmt: Format, options: FormatOptions, **overrides: Any) -> EndpointClient:
    spec = EndpointSpec(url=url, format=fmt, options=options, output=Output.SCORE, threshold=0.5,
                        positive_label=1, **overrides)
    return EndpointClient(spec, TargetGuard(LOOPBACK).check(url), max_response_bytes=1 << 20)


def records(profiles: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    names = ["Tamika", "Greg", "Lakisha", "Brad", "Emily", "Jamal"]
    rows = []
    for i in range(n):
        p = profiles[i % len(profiles)]
        rows.append({**{k: p[k] for k in FEATURES}, "first_name": names[i % len(names)]})
    return rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_scores_are_the_models_own(case: str, biased_server: str, biased_app: ModelApp, biased_model: AdultModel,
                                   profiles: list[dict[str, Any]]) -> None:
    fmt, path, options = CASES[case]
    rows = records(profiles, 60)
    scored = client_for(biased_server + path, fmt, options, batch_size=25).score(rows)
    expected = biased_model.predict(rows)
    tolerance = 1e-6 if fmt is Format.OPENAI_CHAT else 1e-12  # the chat reply prints 6 decimals
    np.testing.assert_allclose(np.array(scored.scores, dtype=float), expected, rtol=0, atol=tolerance)
    assert list(scored.decisions) == list(expected >= 0.5)
    a = scored.accounting
    assert (a.sent, a.answered, a.failed) == (60, 60, 0)
    expected_calls = 60 if fmt is Format.OPENAI_CHAT else 3
    assert a.requests == expected_calls == len(biased_app.batch_sizes)


def test_batch_formats_send_at_least_100_profiles_per_call(biased_server: str, biased_app: ModelApp,
                                                           profiles: list[dict[str, Any]]) -> None:
    rows = records(profiles, 250)
    scored = client_for(biased_server + "/invocations", Format.MLFLOW, FormatOptions(), batch_size=100,
                        concurrency=2).score(rows)
    assert scored.accounting.answered == 250
    assert sorted(biased_app.batch_sizes) == [50, 100, 100]


def test_label_output_compares_with_the_positive_label(biased_server: str, biased_model: AdultModel,
                                                       profiles: list[dict[str, Any]]) -> None:
    spec = EndpointSpec(url=biased_server + "/csv", format=Format.CSV, options=FormatOptions(fields=tuple(WITH_NAME)),
                        output=Output.LABEL, threshold=0.5, positive_label=1.0)
    rows = records(profiles, 20)
    scored = EndpointClient(spec, TargetGuard(LOOPBACK).check(spec.url), max_response_bytes=1 << 20).score(rows)
    # the CSV server answers probabilities, so as labels only an exact 1.0 would count as positive
    assert scored.decisions == tuple(bool(s == 1.0) for s in biased_model.predict(rows))


def test_an_unparseable_chat_reply_fails_only_that_probe(biased_server: str, profiles: list[dict[str, Any]]) -> None:
    fmt, path, options = CASES["openai-chat"]
    rows = records(profiles, 6)
    rows[2] = {**rows[2], "first_name": "Unparseable"}
    scored = client_for(biased_server + path, fmt, options).score(rows)
    assert scored.failures[2] is not None and scored.failures[2].value == "unparseable_reply"
    assert [f is None for f in scored.failures] == [True, True, False, True, True, True]
    assert scored.accounting.failures == {"unparseable_reply": 1}
    assert scored.accounting.sent == scored.accounting.answered + scored.accounting.failed == 6
