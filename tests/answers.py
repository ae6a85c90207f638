"""Reading the JSON of a test client's answer, typed for the tests (Flask types ``.json`` as maybe-None)."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.test import TestResponse


def json_of(response: TestResponse) -> Any:
    """The answer's JSON; an answer without a JSON body fails the test here, not as a None further on."""
    return json.loads(response.get_data(as_text=True))
