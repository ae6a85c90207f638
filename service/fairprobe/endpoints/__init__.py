"""Black-box model access: the SSRF guard, the format presets and the bounded outbound client."""

from fairprobe.endpoints.client import EndpointClient
from fairprobe.endpoints.targets import Target, TargetGuard, TargetRefused

__all__ = ["EndpointClient", "Target", "TargetGuard", "TargetRefused"]
