# fairprobe: slim, non-root, gunicorn as PID 1. Two stages: the first installs the package and its pinned
# dependencies into a virtual environment, the second copies only that environment (no source tree, no
# build tools, no pip cache). The base is pinned by digest; where no registry can be reached,
# scripts/container.sh builds a local Debian base and passes it as BASE_IMAGE (build with --format docker so
# the HEALTHCHECK is kept).
ARG BASE_IMAGE=docker.io/library/python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY service ./service
# the test suites bundled inside numpy, pandas, scipy, scikit-learn and statsmodels, and C headers and
# static libraries, are never imported or linked by a running service
RUN python -m venv /opt/fairprobe \
    && /opt/fairprobe/bin/pip install -c constraints.txt . \
    && /opt/fairprobe/bin/pip uninstall -y pip \
    && find /opt/fairprobe/lib -depth -type d \( -name tests -o -name testing_data \) -path "*/site-packages/*" \
         -not -path "*/numpy/testing*" -exec rm -rf {} + \
    && find /opt/fairprobe/lib -type d -name include -path "*/site-packages/pyarrow/*" -exec rm -rf {} + \
    && find /opt/fairprobe/lib \( -name "*.a" -o -name "*.pyx" -o -name "*.pxd" -o -name "*.h" \) -delete

FROM ${BASE_IMAGE}
ENV PATH=/opt/fairprobe/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FAIRPROBE_BIND=0.0.0.0:8000
COPY --from=build /opt/fairprobe /opt/fairprobe
WORKDIR /app
COPY gunicorn.conf.py ./
RUN useradd --system --uid 10001 --no-create-home fairprobe

USER 10001
EXPOSE 8000
# asks the port gunicorn listens on (FAIRPROBE_BIND), so a container started on another port stays healthy
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ['FAIRPROBE_BIND'].rpartition(':')[2]; sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "fairprobe:create_app()"]
