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
import threading
import time

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


class IdleTrim:
    """Hands a worker's free memory back to the system (glibc's ``malloc_trim``) once it has been idle for
    ``idle_s`` after a large request.

    glibc keeps freed heap pages, so a 1M-row audit left its worker 100-200 MiB larger and the next large
    audit's peak started from there (a JSON-columns audit after a records audit peaked at 654 MiB). Trimming
    as soon as the request ends made the very next large request fault its pages in again (20-30 ms on a
    1M-row CSV); after a second of idleness it costs only the first large request after a pause.
    """

    def __init__(self, trim, idle_s=1.0):
        self._trim = trim
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._busy = 0
        self._last = 0.0
        self._pending = False

    def started(self):
        with self._lock:
            self._busy += 1

    def finished(self, large):
        with self._lock:
            self._busy -= 1
            self._last = time.monotonic()
            if large and not self._pending:
                self._pending = True
                self._later(self._idle_s)

    def _later(self, seconds):
        timer = threading.Timer(seconds, self._fire)
        timer.daemon = True
        timer.start()

    def _fire(self):
        with self._lock:
            wait = self._last + self._idle_s - time.monotonic()
            if self._busy or wait > 0:  # not idle yet: look again when it could be
                self._later(max(wait, self._idle_s / 4))
                return
            self._pending = False
        self._trim(0)


def _glibc_malloc_trim():
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None


#: a request body from this size on makes the worker trim its memory once idle
TRIM_AFTER_BYTES = 8 << 20
_malloc_trim = _glibc_malloc_trim()
_idle_trim = IdleTrim(_malloc_trim) if _malloc_trim is not None else None


def pre_request(worker, req):
    if _idle_trim is not None:
        _idle_trim.started()


def post_request(worker, req, environ, resp):
    if _idle_trim is not None:
        length = environ.get("CONTENT_LENGTH") or ""
        _idle_trim.finished(length.isdigit() and int(length) >= TRIM_AFTER_BYTES)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201
    if _owned_metrics_dir:
        shutil.rmtree(_owned_metrics_dir, ignore_errors=True)

