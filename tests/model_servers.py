"""A model server that misbehaves on purpose, for the probe tests (the real models are in ``demo/``).

/timeout sleeps 3 s; /error500 always 500; /flaky fails the first call of every batch size with 503;
/ratelimit answers 429 with Retry-After: 1 to the first call, then works; /garbage is not JSON;
/short answers one value too few; /drip sends its body a byte every 0.3 s; /batchfail answers 500 to
any call with more than one record; /redirect sends 302 to ``?to=``; /unauthorized answers 401;
/badrequest answers 400.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.wrappers import Request, Response


class FaultApp:
    """Misbehaves by path (see the module's docstring), answering a constant score when it answers at all."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seen_batch_sizes: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path
        try:
            n = len(json.loads(request.get_data())["records"])
        except (ValueError, KeyError, TypeError):
            n = 1
        with self._lock:
            self.calls[path] += 1
            first_of_size = (path, n) not in self.seen_batch_sizes
            self.seen_batch_sizes.add((path, n))
            first_call = self.calls[path] == 1
        ok = json.dumps({"predictions": [{"score": 0.7}] * n})
        if path == "/ok":
            response = Response(ok, mimetype="application/json")
        elif path == "/timeout":
            time.sleep(3)
            response = Response(ok, mimetype="application/json")
        elif path == "/error500":
            response = Response("boom", status=500)
        elif path == "/flaky":
            response = Response("busy", status=503) if first_of_size else Response(ok, mimetype="application/json")
        elif path == "/ratelimit":
            response = (Response("slow down", status=429, headers={"Retry-After": "1"}) if first_call
                        else Response(ok, mimetype="application/json"))
        elif path == "/garbage":
            response = Response("<html>not json{", mimetype="application/json")
        elif path == "/short":
            response = Response(json.dumps({"predictions": [{"score": 0.7}] * max(0, n - 1)}),
                                mimetype="application/json")
        elif path == "/drip":
            def drip() -> Iterator[bytes]:
                for byte in ok.encode():
                    time.sleep(0.3)
                    yield bytes([byte])
            response = Response(drip(), mimetype="application/json")
        elif path == "/batchfail":
            response = (Response("too many", status=500) if n > 1 else Response(ok, mimetype="application/json"))
        elif path == "/redirect":
            response = Response("", status=302, headers={"Location": request.args.get("to", "/ok")})
        elif path == "/unauthorized":
            response = Response(json.dumps({"error": "bad key"}), status=401, mimetype="application/json")
        elif path == "/badrequest":
            response = Response(json.dumps({"error": "no such field"}), status=400, mimetype="application/json")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)


