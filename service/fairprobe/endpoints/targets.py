"""Server-side request forgery guard: which hosts a model call may reach, decided before any packet.

A URL's host is resolved once; every address it resolves to must pass the rules below (a name that
resolves to one public and one private address is refused), and the client then connects to the
checked address, so DNS cannot change the answer between check and connect. IP spellings such as
``2130706433``, ``0x7f.1`` or ``0177.0.0.1`` are resolved by the system resolver like any host and
are caught by the same rules. IPv4 addresses embedded in IPv6 (mapped, translated, compatible, 6to4,
Teredo, NAT64, ISATAP) are checked as the IPv4 address they reach; IPv6 outside global unicast
(2000::/3) and the reserved blocks inside it are refused even where Python's ``ipaddress`` calls them
global.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fairprobe.errors import FieldError, ValidationFailed

__all__ = ["RULES", "Target", "TargetGuard", "TargetRefused"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

#: (rule, networks) in the order they are checked; the first that contains the address names it
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("unspecified", ("0.0.0.0/8", "::/128")),
    ("cloud_metadata", ("169.254.169.254/32", "fd00:ec2::254/128")),
    ("link_local", ("169.254.0.0/16", "fe80::/10")),
    ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("carrier_grade_nat", ("100.64.0.0/10",)),
    ("unique_local", ("fc00::/7",)),
    ("multicast", ("224.0.0.0/4", "ff00::/8")),
    ("nat64_local_use", ("64:ff9b:1::/48",)),
    # reserved and special-purpose blocks, including those Python's ipaddress calls global (192.88.99.0/24,
    # 3fff::/20, 5f00::/16, fec0::/10, 100:0:0:1::/64 ...); IPv6 outside 2000::/3 is not global unicast at all
    ("reserved", ("240.0.0.0/4", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
                  "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "2001::/23", "3fff::/20")),
)
_NETWORKS = tuple((rule, tuple(ipaddress.ip_network(n) for n in nets)) for rule, nets in RULES)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")  # IPv4-compatible (deprecated): ::a.b.c.d
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (SIIT): ::ffff:0:a.b.c.d
SCHEMES = ("http", "https")


class TargetRefused(ValidationFailed):
    """The endpoint URL points where this service may not call (422, names the rule)."""

    slug = "target-refused"
    title = "The endpoint URL is not an allowed target"

    def __init__(self, field: str, rule: str, message: str) -> None:
        message = f"{message} (rule: {rule})"
        super().__init__(f"{field}: {message}", errors=[FieldError(field, message)])
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: connect to ``address``, speak to ``host`` (Host header, TLS name)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with the host replaced by the checked address (the request goes exactly there)."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}{self.path}"


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches, for every form that embeds one: mapped, translated,
    compatible, 6to4, Teredo, the NAT64 well-known prefix, and ISATAP interface ids."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _TRANSLATED or address in _NAT64:
        return low32
    if address in _COMPATIBLE and int(address) > 1:  # not :: or ::1, which are rules of their own
        return low32
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if (int(address) >> 32) & 0xFCFFFFFF == 0x00005EFE:  # ISATAP: ::0:5efe:a.b.c.d or ::200:5efe:a.b.c.d
        return low32
    return None


def forbidden_rule(address: IPAddress) -> str | None:
    """The rule that forbids ``address``, or ``None`` when it is a public unicast address."""
    embedded = _embedded_v4(address)
    if embedded is not None:
        return forbidden_rule(embedded)
    for rule, networks in _NETWORKS:
        if any(address in net for net in networks if net.version == address.version):
            return rule
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not address.is_global:
        return "reserved"
    return None


class TargetGuard:
    """Check endpoint URLs against the SSRF rules and the allowlist.

    Parameters
    ----------
    allowed
        Host names (matched exactly, case-insensitively) and CIDR networks (matched against the
        resolved address) that may be called even though a rule forbids them.
    resolve
        ``socket.getaddrinfo`` or a stand-in with its signature (tests resolve names without DNS).
    """

    def __init__(self, allowed: Sequence[str] = (), *, resolve: Resolver = socket.getaddrinfo) -> None:
        self.allowed_hosts = frozenset(a.lower().rstrip(".") for a in allowed if not _is_network(a))
        self.allowed_networks = tuple(ipaddress.ip_network(a, strict=False) for a in allowed if _is_network(a))
        self.resolve = resolve

    def check(self, url: str, field: str = "endpoint.url") -> Target:
        """Resolve and check ``url``; raise :class:`TargetRefused` naming the rule it breaks."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TargetRefused(field, "invalid_url", f"is not a valid URL ({exc})") from exc
        if parts.scheme not in SCHEMES:
            raise TargetRefused(field, "scheme", f"scheme {parts.scheme!r} is refused; use http or https")
        if parts.username is not None or parts.password is not None:
            raise TargetRefused(field, "credentials_in_url", "put credentials in headers, not in the URL")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise TargetRefused(field, "invalid_url", "has no host")
        port = port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        addresses = self._resolve(host, port, field)
        named = host.lower() in self.allowed_hosts
        for address in addresses:
            rule = forbidden_rule(address)
            if rule is None or named or any(address in net for net in self.allowed_networks
                                            if net.version == address.version):
                continue
            shown = "" if str(address) == host.strip("[]") else f" (it resolves to {address})"
            raise TargetRefused(
                field, rule,
                f"host {host!r}{shown} is a {rule.replace('_', ' ')} address; an operator can open it "
                "with FAIRPROBE_ALLOWED_TARGETS",
            )
        return Target(scheme=parts.scheme, host=host, port=port, address=str(addresses[0]), path=path)

    def _resolve(self, host: str, port: int, field: str) -> list[IPAddress]:
        try:
            infos = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(field, "unresolvable", f"host {host!r} cannot be resolved") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
            address = ipaddress.ip_address(raw)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise TargetRefused(field, "unresolvable", f"host {host!r} resolves to no address")
        return addresses


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
