"""gunicorn settings for fairprobe: ``gunicorn -c gunicorn.conf.py "fairprobe:create_app()"``."""

import os

bind = os.environ.get("FAIRPROBE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("FAIRPROBE_WORKERS", "2"))
worker_class = "sync"
# above the longest bounded audit (5M rows parse + audit); a request past it is a bug, not a slow client
timeout = int(os.environ.get("FAIRPROBE_WORKER_TIMEOUT", "300"))
graceful_timeout = 30
keepalive = 5
# a backstop against slow leaks, not a cure (the AIF360 memo cache is cleaned per audit)
max_requests = 2000
max_requests_jitter = 200
# fairprobe writes its own JSON access log line per request; gunicorn's would repeat it
accesslog = None
errorlog = "-"
loglevel = "info"
# keep request bodies in memory: fairprobe writes nothing to disk
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
