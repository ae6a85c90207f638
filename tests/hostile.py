"""Valid requests for every operation, and every way a careless or hostile caller can spoil one.

``mutations(body)`` walks every path of a valid JSON body and puts, in turn, each value of a spoiler set
there (a list or object where one value belongs, null, numbers near the double's limit, empty and huge
text, a NUL), and also removes each key. The service must answer every one with a 2xx or a 4xx
``application/problem+json`` — never a 5xx. ``tests/api/test_hostile_inputs.py`` runs it over every
operation; ``benchmarks/bench_fuzz.py`` runs it with a larger spoiler set beside schemathesis.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

Path = tuple[str | int, ...]
MISSING = object()

#: what the suite puts at every path; the benchmark adds more
SPOILERS: tuple[Any, ...] = (["x"], {"k": "v"}, None, 1e308, 2**70, "", "\u0000")
MORE_SPOILERS: tuple[Any, ...] = (*SPOILERS, -1e308, True, 0, -1, "x" * 100_000, "{x:>100000000}", [[[[]]]],
                                  "\ud7ff\ue000", " leading", "ü" * 10)


class ConstantModel:
    """A loopback model answering a fixed score per record in the generic JSON format, and counting calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            self.calls += 1
        try:
            records = json.loads(Request(environ).get_data())["records"]
            n = len(records) if isinstance(records, list) else 1
        except (ValueError, KeyError, TypeError):
            n = 1
        scores = [{"score": (i % 7) / 7} for i in range(n)]
        return Response(json.dumps({"predictions": scores}), mimetype="application/json")(environ, start_response)


def endpoint(url: str) -> dict[str, Any]:
    return {"url": url + "/score", "format": "json", "response_path": "predictions[*].score", "timeout_s": 5,
            "deadline_s": 20, "retries": 1, "headers": {"Authorization": "Bearer planted-vendor-key-1234"}}


def bodies(url: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Name -> (path, a valid body) for every operation that reads a body."""
    rows = [{"race": r, "sex": s, "y": (i * 7) % 3 % 2, "p": (i * 5) % 2, "w": 1 + i % 3, "age": 20 + i}
            for i, (r, s) in enumerate([("a", "f"), ("b", "m"), ("a", "m"), ("b", "f")] * 10)]
    audit = {"data": {"records": rows}, "label": "y", "prediction": "p", "favorable": 1, "weight": "w",
             "protected": [{"attribute": "race", "reference": "a"}, {"attribute": "age", "bins": [30, 45]}],
             "intersections": [["race", "age"]],
             "policy": {"rules": [{"metric": "disparate_impact", "min": 0.8},
                                  {"metric": "selection_rate", "max_relative_gap": 0.2, "attributes": ["race"]}],
                        "alpha": 0.05, "min_group_size": 5}}
    counts = {"data": {"columns": {"g": ["a", "a", "b", "b"], "y": [1, 0, 1, 0], "p": [1, 1, 0, 0],
                                   "n": [30, 20, 25, 25]}},
              "label": "y", "prediction": "p", "count": "n", "protected": [{"attribute": "g"}]}
    model_audit = {"data": {"records": rows[:12]}, "label": "y", "endpoint": endpoint(url), "features": ["age", "sex"],
                   "protected": [{"attribute": "race"}], "policy": {"rules": [{"metric": "disparate_impact",
                                                                               "min": 0.8}], "min_group_size": 2}}
    profiles = [{"id": f"p{i}", "first_name": "Pat", "age": 30 + i, "sex": "F" if i % 2 else "M",
                 "title": "Ms" if i % 2 else "Mr", "letter": "I am {first_name}."} for i in range(8)]
    name_swap = {"endpoint": endpoint(url), "profiles": {"records": profiles}, "id_field": "id",
                 "name_fields": {"first_name": "first_name", "text_fields": ["letter"]}, "bank": "custom",
                 "custom_groups": [{"id": "g1", "first_names": ["Anne", "Emily"]},
                                   {"id": "g2", "first_names": ["Lakisha", "Aisha"]}],
                 "reference": "g1", "names_per_group": 1, "seed": 3, "worst": 2,
                 "policy": {"rules": [{"metric": "flip_rate", "max": 0.05}], "min_group_size": 2}}
    flip = {"endpoint": endpoint(url), "profiles": {"records": profiles}, "id_field": "id",
            "flips": [{"attribute": "sex", "values": ["F", "M"], "proxies": {"title": {"F": "Ms", "M": "Mr"}}}],
            "policy": {"rules": [{"metric": "mean_score_difference", "max_abs": 0.1}], "min_group_size": 2}}
    schema = {"fields": [
        {"name": "age", "type": "integer", "min": 18, "max": 80},
        {"name": "income", "type": "number", "min": 0, "max": 1e6, "distribution": "lognormal", "mean": 10, "sd": 1},
        {"name": "sex", "type": "category", "categories": [{"value": "female"}, {"value": "male", "weight": 2}],
         "protected": True},
        {"name": "race", "type": "category", "categories": [{"value": "black"}, {"value": "white"}],
         "protected": True},
        {"name": "since", "type": "date", "start": "2020-01-01", "end": "2020-12-31", "optional": True},
        {"name": "name", "type": "name", "bank": "tzioumis-census-2010"},
        {"name": "note", "type": "text", "template": "{name} is {age}"}],
        "truth": [{"field": "age", "op": ">=", "value": 30}]}
    stress = {"endpoint": endpoint(url), "generator": {"schema": schema},
              "groups": [{"name": "f", "where": {"sex": "female", "age": {"min": 40}}},
                         {"name": "m", "where": {"sex": "male"}}],
              "reference": "m", "profiles_per_group": 10, "edge_cases": ["boundary_values", "long_names"],
              "edge_profiles_per_group": 2, "seed": 1,
              "policy": {"rules": [{"metric": "disparate_impact", "min": 0.8}], "min_group_size": 2}}
    reference = {"data": {"records": [{"age": 20 + i % 50, "sex": "f" if i % 3 else "m", "amount": 100 * i,
                                       "purpose": ["car", "tv", "edu"][i % 3]} for i in range(60)]},
                 "protected": ["sex"], "min_group_rows": 5}
    stress_ref = {"endpoint": endpoint(url), "generator": {"reference": reference},
                  "groups": [{"name": "f", "where": {"sex": "f"}}, {"name": "m", "where": {"sex": "m"}}],
                  "reference": "m", "profiles_per_group": 10, "edge_cases": [], "seed": 2}
    search = {"endpoint": endpoint(url), "generator": {"schema": schema}, "protected": {"sex": ["female", "male"]},
              "methods": ["causal", "directed"], "max_probes": 200, "batch_profiles": 10, "precision": 0.1,
              "examples": 2, "seed": 4, "policy": {"rules": [{"metric": "causal_discrimination_rate", "max": 0.1}]}}
    outputs = {"data": {"records": [{**r, "seg": ["gold", "silver", "basic"][i % 3], "offer": 10.0 + i % 7,
                                     "zone": ["n", "s"][i % 2], "band": i % 4} for i, r in enumerate(rows)]},
               "protected": [{"attribute": "race", "reference": "a"}],
               "segment": {"column": "seg", "valuable": ["gold"]}, "outcome": {"column": "offer", "favours": "higher"},
               "features": ["zone", "age"], "conditioning": [{"attribute": "band"}],
               "policy": {"rules": [{"metric": "outcome_mean", "max_relative_gap": 0.2},
                                    {"metric": "disparate_impact", "min": 0.8}], "min_group_size": 5}}
    outputs_counts = {"data": {"columns": {"g": ["a", "a", "b", "b"], "seg": ["x", "y", "x", "y"],
                                           "n": [30, 20, 25, 25], "s": [300.0, 150.0, 260.0, 240.0],
                                           "ss": [3100.0, 1200.0, 2800.0, 2400.0]}},
                      "count": "n", "protected": [{"attribute": "g"}], "segment": {"column": "seg"},
                      "outcome": {"sum": "s", "sum_of_squares": "ss"}}
    lists = [{"who": f"u{i // 3}", "grp": "a" if i // 3 % 2 else "b", "pos": i % 3 + 1, "item": f"i{(i * 7) % 11}",
              "cat": f"c{i % 4}", "tier": "hi" if i % 5 == 0 else "lo", "seller": f"s{i % 3}", "rel": 1.0 + i % 2}
             for i in range(60)]
    ranking = {"data": {"records": lists}, "protected": [{"attribute": "grp"}],
               "ranking": {"customer": "who", "item": "item", "position": "pos", "category": "cat",
                           "high_value": {"column": "tier", "values": ["hi"]}, "provider": "seller",
                           "relevance": "rel", "k": 3},
               "policy": {"rules": [{"metric": "high_value_exposure_ratio", "min": 0.8}], "min_group_size": 2}}
    compare = {**audit, "data": {"records": [{**r, "q": (i * 5 + i // 3) % 2,
                                               "day": f"2024-0{1 + i % 3}-1{i % 9}"} for i, r in enumerate(rows)]},
               "compare": {"prediction": "q", "margin": 0.05}, "time": {"column": "day", "window": "month"},
               "diagnostics": ["comparison", "mitigation", "windows"]}
    return {
        "audit_compare": ("/v1/audits", compare),
        "audit_outputs": ("/v1/audits", outputs), "audit_output_counts": ("/v1/audits", outputs_counts),
        "audit_ranking": ("/v1/audits", ranking),
        "audit_records": ("/v1/audits", audit), "audit_counts": ("/v1/audits", counts),
        "audit_model": ("/v1/audits", model_audit), "name_swap": ("/v1/probes/name-swap", name_swap),
        "flip": ("/v1/probes/flip", flip), "stress_schema": ("/v1/stress", stress),
        "stress_reference": ("/v1/stress", stress_ref), "search": ("/v1/stress/discrimination", search),
    }


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path in ``value``; of a long list only the first two items (rows are alike)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from _paths(item, (*prefix, index))


def _set(body: Any, path: Path, value: Any) -> Any:
    out = copy.deepcopy(body)
    if not path:
        return value
    holder = out
    for step in path[:-1]:
        holder = holder[step]
    if value is MISSING:
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
        else:
            holder.pop(path[-1])
    else:
        holder[path[-1]] = value
    return out


def mutations(body: dict[str, Any], spoilers: tuple[Any, ...] = SPOILERS) -> Iterator[tuple[str, Any]]:
    """(label, spoiled body) for every path x spoiler, and every path removed."""
    for path in _paths(body):
        if not path:
            continue
        label = ".".join(map(str, path))
        yield f"{label} removed", _set(body, path, MISSING)
        for spoiler in spoilers:
            yield f"{label} = {str(spoiler)[:20]!r}", _set(body, path, spoiler)


#: media types whose bodies are opaque bytes to a fuzzer (the direct upload's Arrow and Parquet files)
BINARY_BODIES = ["application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file",
                 "application/vnd.apache.parquet", "application/x-parquet"]


def fuzz_binary_bodies() -> None:
    """Let schemathesis send generated bytes as Arrow and Parquet bodies (as it does octet-stream ones), so the
    direct upload is fuzzed in those forms too."""
    import schemathesis

    schemathesis.serializer.alias(BINARY_BODIES, "application/octet-stream")
