"""gunicorn settings for fairprobe: ``gunicorn -c gunicorn.conf.py "fairprobe:create_app()"``.

Threaded workers: probes spend their time waiting on someone else's model, and a thread waiting on a
socket holds nothing else. Each worker runs at most ``FAIRPROBE_MAX_LONG_REQUESTS`` model-calling
requests at once (the app answers 503 beyond), so the other threads keep ``/healthz`` and small audits
answering, and ``FAIRPROBE_ANALYSIS_SLOTS`` CPU-bound audits (the rest wait their turn); request bodies
must arrive within ``FAIRPROBE_BODY_TIMEOUT_S`` (408 after it).
"""

import os
import shutil
import tempfile

from fairprobe.logs import GUNICORN_LOGCONFIG

bind = os.environ.get("FAIRPROBE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FAIRPROBE_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("FAIRPROBE_THREADS", "8"))
# a worker takes a new connection only while it holds fewer than this: a worker with every thread busy
# leaves new clients to the other one instead of queueing them behind its own (1,000 by default lets one
# worker hoard the clients while the other idles, which doubles the slowest latencies)
worker_connections = int(os.environ.get("FAIRPROBE_WORKER_CONNECTIONS", str(threads + 2)))
# above the longest bounded request (FAIRPROBE_MAX_DEADLINE_S 240 s + analysis; a 5M-row audit); the
# threaded worker's heartbeat keeps beating while its threads wait, so this only catches a stuck worker
timeout = int(os.environ.get("FAIRPROBE_WORKER_TIMEOUT", "300"))
graceful_timeout = 30
keepalive = 5
# a backstop against slow leaks, not a cure (the AIF360 memo cache is cleaned per audit; RSS stays flat under
# load): a restart costs a worker ~2 s of imports and warm-up, so not every 2,000 requests (80 s at full load)
max_requests = 20000
max_requests_jitter = 2000
# gunicorn 27 opens a control socket under $HOME/.gunicorn, shared by every instance on the machine and an
# error in a container whose user has no home; fairprobe does not use it
control_socket_disable = True
# fairprobe writes its own JSON access log line per request; gunicorn's would repeat it
accesslog = None
errorlog = "-"
loglevel = "info"
# every line gunicorn writes is JSON through fairprobe's formatter, which cannot print a request's values
logconfig_dict = GUNICORN_LOGCONFIG
# keep request bodies in memory: fairprobe writes nothing to disk
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Prometheus multiprocess mode: every worker writes its metrics to files in a memory-backed directory of
# this server's own, and /metrics sums them, so counters never go backwards between scrapes
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fairprobe-metrics-", dir=worker_tmp_dir)
    _owned_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
else:
    _owned_metrics_dir = None


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Warm the worker before its first request (a tiny real audit imports and compiles everything a request
    touches), then freeze what is loaded: the collector's full passes no longer walk the ~200,000 objects of
    pandas, scipy and AIF360 that live as long as the worker, which made some requests wait tens of ms."""
    import gc

    app = worker.wsgi
    client = getattr(app, "test_client", None)
    if client is not None:
        client().get("/readyz")
    gc.freeze()


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201
    if _owned_metrics_dir:
        shutil.rmtree(_owned_metrics_dir, ignore_errors=True)

