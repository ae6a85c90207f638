"""The SDK's probe calls against the real app on loopback, which calls the real model server."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from demo.adult import FEATURES

from fairprobe_client import Client, ModelUnavailableError, ProbeReport, UnprocessableEntityError


def test_sdk_name_swap_flip_and_banks(live_server: str, biased_server: str, profiles: list[dict[str, Any]]) -> None:
    endpoint = {"url": biased_server + "/invocations", "format": "mlflow", "fields": [*FEATURES, "first_name"]}
    events: list[dict[str, Any]] = []
    with Client(live_server, timeout=60) as client:
        report = client.name_swap(endpoint=endpoint, profiles=profiles, name_fields={"first_name": "first_name"},
                                  reference="white_male", groups=["white_male", "black_female"], names_per_group=9,
                                  id_field="id", progress=events.append, html=True)
        every_field = {"url": biased_server + "/invocations", "format": "mlflow", "mlflow_orient": "records"}
        flipped = client.flip(endpoint=every_field, profiles=profiles, flips=[{"attribute": "region",
                                                                            "values": ["north", "south"]}],
                              id_field="id")
        with pytest.raises(UnprocessableEntityError) as caught:
            client.name_swap(endpoint={**endpoint, "url": "http://169.254.169.254/"}, profiles=profiles,
                             name_fields={"first_name": "first_name"}, reference="white_male")
    assert isinstance(report, ProbeReport) and report.verdict == "fail"
    assert report.accounting.sent == report.accounting.answered == 40 * 2 * 9
    # the streamed events: progress while the model answered, ending with every probe answered
    assert events and all(e["event"] == "progress" for e in events)
    assert events[-1]["probes_done"] == events[-1]["probes_sent"] == report.accounting.sent
    assert report.html is not None and "Counterfactual probe" in report.html
    comparison = report.comparisons[0]
    assert comparison.metrics["flip_rate"].value == report.findings[0].value or any(
        f.metric == "flip_rate" and f.value == comparison.metrics["flip_rate"].value for f in report.findings)
    frame = report.to_frame("groups")
    assert set(frame["metric"]) >= {"flip_rate", "mean_score_difference"}
    # every profile is in the north, so only north -> south can be measured; the model ignores region
    assert [c.metrics["flip_rate"].value for c in flipped.comparisons] == [0.0, None]
    assert caught.value.status == 422 and caught.value.fields == ["endpoint.url"]


def test_a_model_that_answers_nothing_is_a_model_unavailable_error(live_server: str,
                                                                   profiles: list[dict[str, Any]]) -> None:
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = {"url": f"http://127.0.0.1:{port}/invocations", "format": "mlflow", "retries": 0,
                "fields": [*FEATURES, "first_name"]}
    with Client(live_server, timeout=60, retries=0) as client, pytest.raises(ModelUnavailableError) as caught:
        client.name_swap(endpoint=endpoint, profiles=profiles[:5], name_fields={"first_name": "first_name"},
                         reference="white_male", names_per_group=1, id_field="id")
    accounting = caught.value.accounting
    assert caught.value.status == 502 and accounting["answered"] == 0
    assert accounting["sent"] == accounting["failed"] > 0
