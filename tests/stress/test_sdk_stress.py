"""The SDK's stress test and discrimination search against the real app, calling the German-credit models."""

from __future__ import annotations

from typing import Any

from fairprobe_client import Client, DiscriminationReport, StressReport


def test_sdk_stress_and_search(live_server: str, credit_server: str, reference_records: list[dict[str, Any]]) -> None:
    endpoint = {"url": credit_server + "/direct", "format": "json", "response_path": "predictions[*].score",
                "batch_size": 200}
    generator = {"reference": {"data": {"records": reference_records}, "protected": ["sex", "personal_status"]}}
    events: list[dict[str, Any]] = []
    with Client(live_server, timeout=120) as client:
        stress = client.stress(endpoint=endpoint, generator=generator, reference="male",
                               groups=[{"name": "male", "where": {"sex": "male"}},
                                       {"name": "female", "where": {"sex": "female"}}],
                               profiles_per_group=300, edge_cases=[], seed=5, progress=events.append)
        search = client.discrimination(endpoint=endpoint, generator=generator, protected={"sex": ["female", "male"]},
                                       methods=["causal"], max_probes=1000, seed=2)
    assert isinstance(stress, StressReport) and stress.verdict == "fail"
    assert stress.accounting.sent == stress.accounting.answered == 600
    female = next(g for g in stress.groups if g.name == "female")
    hand = female.metrics["positive_rate"]
    assert hand.numerator is not None and hand.denominator == 300
    assert hand.value == hand.numerator / hand.denominator
    assert events and events[-1]["probes_done"] == events[-1]["probes_sent"] == 600
    assert isinstance(search, DiscriminationReport) and search.causal is not None
    assert search.causal.probes == 2 * search.causal.profiles_tested == search.accounting.sent
    assert search.verdict == "fail" and search.failed()[0].metric == "causal_discrimination_rate"
