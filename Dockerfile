# Slim, non-root, gunicorn as PID 1. Builds elsewhere as-is; here: --build-arg BASE_IMAGE=<local python:3.11 image>
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FAIRPROBE_BIND=0.0.0.0:8000

WORKDIR /app
COPY constraints.txt pyproject.toml README.md gunicorn.conf.py ./
COPY service ./service
RUN python -m pip install -c constraints.txt . \
    && useradd --system --uid 10001 --no-create-home fairprobe

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "fairprobe:create_app()"]
