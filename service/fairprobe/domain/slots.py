"""The one template syntax of requests: ``{name}`` slots, and nothing else.

Prompts, record templates, stress text fields and name slots all use it. There are no format specs, no
attribute or index lookups and no conversions (``str.format`` would take ``{x:>100000000}`` and allocate
gigabytes): a slot is a name in braces, replaced by the value's text; any other brace is literal text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SLOT", "fill", "slot_names"]

SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def slot_names(text: str) -> set[str]:
    """The names of the slots in ``text``."""
    return set(SLOT.findall(text))


def fill(text: str, values: Mapping[str, Any], render: Callable[[Any], str] = str) -> str:
    """``text`` with each slot replaced by ``render(values[name])``; a slot without a value stays as it is."""
    return SLOT.sub(lambda m: render(values[m.group(1)]) if m.group(1) in values else m.group(0), text)
