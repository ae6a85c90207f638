"""``python -m demo``: the demo models on one port and the fairprobe service (gunicorn) on another.

Ctrl-C (or SIGTERM) stops both. ``--models-only`` serves just the models (for a service run elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Request, Response

from demo.adult import ModelApp, train_models
from demo.credit import CreditApp, CreditModel, read_german
from demo.serving import serve

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("FAIRPROBE_SHARED_DATA", REPO.parent / "shared" / "data"))

ENDPOINTS = {
    "/adult/fair": "Adult income model that never sees a name: /invocations (MLflow), /v1/chat/completions, /score, "
                   "/v1/models/adult:predict, /v2/models/adult/infer, /csv, /segment (a segmenter), "
                   "/recommend (a recommender)",
    "/adult/biased": "the same, trained with first names as a feature",
    "/credit/direct": "German credit: penalises sex=female",
    "/credit/proxy": "German credit: penalises a female personal_status code, never reads sex",
    "/credit/blind": "German credit: reads no protected field",
}


def models_app(data_dir: Path) -> Any:
    """Every demo model behind one WSGI app, mounted by path prefix."""
    fair, biased = train_models(data_dir)

    def index(environ: dict[str, Any], start_response: Any) -> Any:
        if Request(environ).path != "/":
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps({"endpoints": ENDPOINTS}, indent=2), mimetype="application/json")(
            environ, start_response)

    return DispatcherMiddleware(index, {
        "/adult/fair": ModelApp(fair), "/adult/biased": ModelApp(biased),
        "/credit": CreditApp(CreditModel(read_german(data_dir))),
    })


def _wait_ready(url: str, service: subprocess.Popen[bytes], limit_s: float = 120.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if service.poll() is not None:
            raise SystemExit(f"demo: the service exited with code {service.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"demo: the service did not get ready within {limit_s:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the service's port")
    parser.add_argument("--models-port", type=int, default=5000)
    parser.add_argument("--models-only", action="store_true")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data sets (default %(default)s)")
    args = parser.parse_args(argv)
    if not (args.data / "adult").is_dir():
        parser.error(f"the shared data sets are not at {args.data}; pass --data or set FAIRPROBE_SHARED_DATA")

    print(f"demo: training the models on {args.data} ...", flush=True)
    with serve(models_app(args.data), host=args.host, port=args.models_port) as models_url:
        print(f"demo: models on {models_url}", flush=True)
        for prefix, what in ENDPOINTS.items():
            print(f"        {models_url}{prefix}: {what}", flush=True)
        if args.models_only:
            return _wait_for_signal()
        env = {**os.environ, "FAIRPROBE_BIND": f"{args.host}:{args.port}",
               "FAIRPROBE_ALLOWED_TARGETS": os.environ.get("FAIRPROBE_ALLOWED_TARGETS", f"{args.host}/32")}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        service = subprocess.Popen([str(gunicorn), "-c", str(REPO / "gunicorn.conf.py"), "fairprobe:create_app()"],
                                   env=env, cwd=REPO)
        url = f"http://{args.host}:{args.port}"
        try:
            _wait_ready(url, service)
            print(f"demo: fairprobe on {url} (docs: {url}/docs), model calls to {env['FAIRPROBE_ALLOWED_TARGETS']} "
                  "allowed; Ctrl-C stops both", flush=True)
            return _wait_for_signal(service)
        finally:
            if service.poll() is None:
                service.terminate()
                try:
                    service.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    service.kill()


def _wait_for_signal(service: subprocess.Popen[bytes] | None = None) -> int:
    """Block until Ctrl-C or SIGTERM (or the service exits); the caller stops what runs."""
    stop = {"now": False}

    def handler(signum: int, frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop["now"]:
        if service is not None and service.poll() is not None:
            return service.returncode or 1
        time.sleep(0.2)
    print("demo: stopping", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
