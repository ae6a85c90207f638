"""The SDK's probe calls against the real app on loopback, which calls the real model server."""

from __future__ import annotations

from typing import Any

import pytest

from fairprobe_client import APIStatusError, Client
from tests.model_servers import FEATURES


def test_sdk_name_swap_flip_and_banks(live_server: str, biased_server: str, profiles: list[dict[str, Any]]) -> None:
    endpoint = {"url": biased_server + "/invocations", "format": "mlflow", "fields": [*FEATURES, "first_name"]}
    with Client(live_server, timeout=60) as client:
        banks = client.name_banks()
        report = client.name_swap(endpoint=endpoint, profiles=profiles, name_fields={"first_name": "first_name"},
                                  reference="white_male", groups=["white_male", "black_female"], names_per_group=9,
                                  id_field="id")
        every_field = {"url": biased_server + "/invocations", "format": "mlflow", "mlflow_orient": "records"}
        flipped = client.flip(endpoint=every_field, profiles=profiles, flips=[{"attribute": "region",
                                                                            "values": ["north", "south"]}],
                              id_field="id")
        with pytest.raises(APIStatusError) as caught:
            client.name_swap(endpoint={**endpoint, "url": "http://169.254.169.254/"}, profiles=profiles,
                             name_fields={"first_name": "first_name"}, reference="white_male")
    assert {b["id"] for b in banks} == {"bertrand-mullainathan-2004", "tzioumis-census-2010"}
    assert report["verdict"] == "fail"
    assert report["accounting"]["sent"] == report["accounting"]["answered"] == 40 * 2 * 9
    # every profile is in the north, so only north -> south can be measured; the model ignores region
    assert [c["metrics"]["flip_rate"]["value"] for c in flipped["comparisons"]] == [0.0, None]
    assert caught.value.status == 422 and caught.value.fields == ["endpoint.url"]
