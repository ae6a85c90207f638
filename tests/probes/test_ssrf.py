"""SSRF: every forbidden target is refused, naming its rule, before any connection is attempted."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3.util.connection
from flask.testing import FlaskClient

from fairprobe import Settings, create_app
from fairprobe.endpoints import TargetGuard, TargetRefused
from tests.model_servers import FaultApp

# URL -> the rule that must refuse it (the system resolver reads the odd IPv4 spellings)
LITERALS = {
    "http://127.0.0.1/": "loopback",
    "http://127.8.9.10:8080/score": "loopback",
    "http://[::1]/": "loopback",
    "http://localhost/": "loopback",
    "http://localhost./": "loopback",
    "http://2130706433/": "loopback",  # decimal
    "http://0x7f000001/": "loopback",  # hex
    "http://0177.0.0.1/": "loopback",  # octal
    "http://0x7f.1/": "loopback",  # mixed short form
    "http://127.1/": "loopback",
    "http://[::ffff:127.0.0.1]/": "loopback",  # IPv4-mapped IPv6
    "http://[2002:7f00:1::]/": "loopback",  # 6to4 wrapping 127.0.0.1
    "http://0.0.0.0/": "unspecified",
    "http://[::]/": "unspecified",
    "http://169.254.169.254/latest/meta-data/": "cloud_metadata",
    "http://[::ffff:169.254.169.254]/": "cloud_metadata",
    "http://[64:ff9b::a9fe:a9fe]/": "cloud_metadata",  # NAT64 wrapping 169.254.169.254
    "http://[fd00:ec2::254]/": "cloud_metadata",
    "http://169.254.10.20/": "link_local",
    "http://[fe80::1]/": "link_local",
    "http://10.0.0.1/": "private",
    "http://172.16.0.1/": "private",
    "http://172.31.255.254/": "private",
    "http://192.168.1.1/": "private",
    "http://100.64.0.1/": "carrier_grade_nat",
    "http://[fd12:3456::1]/": "unique_local",
    "http://224.0.0.1/": "multicast",
    "http://[ff02::1]/": "multicast",
    "http://240.0.0.1/": "reserved",
    "http://255.255.255.255/": "reserved",
    "http://192.0.2.1/": "reserved",
    # IPv6 forms that embed a private IPv4 address, and reserved blocks Python's ipaddress calls global
    "http://[64:ff9b:1::a00:1]/": "nat64_local_use",  # RFC 8215 local-use NAT64
    "http://[::a00:1]/": "private",  # IPv4-compatible ::10.0.0.1
    "http://[::ffff:0:a00:1]/": "private",  # IPv4-translated ::ffff:0:10.0.0.1
    "http://[::ffff:0:a9fe:a9fe]/": "cloud_metadata",  # IPv4-translated 169.254.169.254
    "http://[::7f00:1]/": "loopback",  # IPv4-compatible ::127.0.0.1
    "http://[2001:db9::5efe:c0a8:1]/": "private",  # ISATAP interface id ::5efe:192.168.0.1
    "http://[2001:db9::200:5efe:a00:1]/": "private",  # ISATAP with the u bit
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/": "private",  # Teredo client 10.0.0.1 (obfuscated)
    "http://[3fff::1]/": "reserved",  # documentation (RFC 9637)
    "http://[5f00::1]/": "reserved",  # SRv6 SIDs
    "http://[fec0::1]/": "reserved",  # deprecated site-local
    "http://[100:0:0:1::1]/": "reserved",  # dummy prefix
    "http://192.88.99.1/": "reserved",  # deprecated 6to4 relay anycast
    "ftp://93.184.216.34/": "scheme",
    "file:///etc/passwd": "scheme",
    "gopher://93.184.216.34/": "scheme",
    "http://user:secret@93.184.216.34/": "credentials_in_url",
}

# hostnames resolving to forbidden addresses (a stand-in resolver: no DNS here)
DNS = {
    "metadata.attacker.test": ["169.254.169.254"],
    "internal.attacker.test": ["10.0.0.7"],
    "v6.attacker.test": ["::1"],
    "rebind.attacker.test": ["93.184.216.34", "192.168.0.10"],  # one good, one bad answer
    "public.example.test": ["93.184.216.34"],
}
NAMES = {
    "http://metadata.attacker.test/": "cloud_metadata",
    "http://internal.attacker.test:8443/": "private",
    "http://v6.attacker.test/": "loopback",
    "http://rebind.attacker.test/": "private",
    "http://nowhere.attacker.test/": "unresolvable",
}


def fake_resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in DNS[host]]


@pytest.mark.parametrize("url", sorted(LITERALS))
def test_forbidden_literals_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused) as caught:
        TargetGuard().check(url)
    assert caught.value.rule == LITERALS[url]
    assert caught.value.errors[0].field == "endpoint.url"
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("url", sorted(NAMES))
def test_hostnames_resolving_to_forbidden_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused) as caught:
        TargetGuard(resolve=fake_resolve).check(url)
    assert caught.value.rule == NAMES[url]


def test_the_checked_address_is_the_one_connected_to() -> None:
    target = TargetGuard(resolve=fake_resolve).check("https://public.example.test/v1/score?x=1")
    assert (target.address, target.host, target.port) == ("93.184.216.34", "public.example.test", 443)
    assert target.pinned_url == "https://93.184.216.34:443/v1/score?x=1"
    assert target.netloc == "public.example.test"


def test_the_allowlist_opens_named_hosts_and_networks() -> None:
    assert TargetGuard(["127.0.0.0/8"]).check("http://127.0.0.1:9/").address == "127.0.0.1"
    assert TargetGuard(["internal.attacker.test"], resolve=fake_resolve).check(
        "http://internal.attacker.test:8443/").address == "10.0.0.7"
    with pytest.raises(TargetRefused):  # a network opens only itself
        TargetGuard(["10.0.0.0/8"]).check("http://192.168.1.1/")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every outbound connection urllib3 attempts, recorded (and let through)."""
    seen: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", spy)
    yield seen


def name_swap(url: str) -> dict[str, Any]:
    return {
        "endpoint": {"url": url, "format": "json", "response_path": "predictions[*].score",
                     "headers": {"Authorization": "Bearer planted-ssrf-token"}},
        "profiles": {"records": [{"first_name": "Pat", "age": 40}]},
        "name_fields": {"first_name": "first_name"},
        "reference": "white_male", "names_per_group": 1,
    }


@pytest.mark.parametrize("url", sorted(u for u, r in LITERALS.items() if r not in {"scheme"}))
def test_the_api_refuses_before_connecting(url: str, connections: list[tuple[str, int]]) -> None:
    client = create_app(Settings()).test_client()
    response = client.post("/v1/probes/name-swap", json=name_swap(url))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/target-refused")
    assert problem["errors"][0]["field"] == "endpoint.url"
    assert LITERALS[url] in problem["errors"][0]["message"]
    assert "planted-ssrf-token" not in response.get_data(as_text=True)
    assert connections == []


def test_a_listening_loopback_model_is_not_contacted_without_the_allowlist(
        fault_server: str, fault_app: FaultApp, connections: list[tuple[str, int]]) -> None:
    client: FlaskClient = create_app(Settings()).test_client()
    response = client.post("/v1/probes/name-swap", json=name_swap(fault_server + "/ok"))
    assert response.status_code == 422
    assert sum(fault_app.calls.values()) == 0
    assert connections == []


def test_a_redirect_to_the_metadata_address_is_not_followed(
        fault_server: str, fault_app: FaultApp, connections: list[tuple[str, int]]) -> None:
    client = create_app(Settings(allowed_targets=("127.0.0.1/32",))).test_client()
    body = name_swap(fault_server + "/redirect?to=http://169.254.169.254/latest/meta-data/")
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 502  # nothing answered: a problem that carries the accounting
    report = response.get_json()
    assert report["accounting"]["failures"] == {"redirect_refused": report["accounting"]["sent"]}
    assert {host for host, _ in connections} == {"127.0.0.1"}
    assert fault_app.calls["/redirect"] >= 1


def test_a_redirect_to_another_allowed_server_is_not_followed_either(
        fault_server: str, fault_app: FaultApp) -> None:
    second = FaultApp()
    from demo.serving import serve

    with serve(second) as other:
        client = create_app(Settings(allowed_targets=("127.0.0.1/32",))).test_client()
        response = client.post("/v1/probes/name-swap", json=name_swap(f"{fault_server}/redirect?to={other}/ok"))
    assert response.status_code == 502
    assert sum(second.calls.values()) == 0
