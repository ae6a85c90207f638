#!/usr/bin/env bash
# container.sh: build fairprobe's image with podman, run it, audit through it and report its size.
#
# Where no registry can be reached (this kind of machine, see DESIGN.md), a local base is made first: a
# minimal Debian bookworm with python3 (debootstrap), imported into podman, passed as BASE_IMAGE. Elsewhere,
# BASE_IMAGE may be left to the Dockerfile's digest-pinned default (set USE_DEFAULT_BASE=1).
# The build uses --format docker: the OCI format drops HEALTHCHECK.
#
#   scripts/container.sh            build, run, check; prints the image size and what fills it
#   IMAGE=... BASE_IMAGE=... scripts/container.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${IMAGE:-localhost/fairprobe:dev}
base=${BASE_IMAGE:-}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/ops/podman/containers.conf}
export CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-$root/ops/podman/storage.conf}

"$root/scripts/apt-install.sh" podman podman PODMAN "building the container image"
"$root/scripts/apt-install.sh" runc runc RUNC "podman's runtime"

if [ -z "$base" ] && [ -z "${USE_DEFAULT_BASE:-}" ]; then
  base=localhost/fairprobe-base:bookworm-py311
  if ! podman image exists "$base"; then
    "$root/scripts/apt-install.sh" debootstrap debootstrap DEBOOTSTRAP "the local Debian base image"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    echo "container: making $base (debootstrap bookworm, python3)"
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
      bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
    tar -C "$rootfs" -c . | podman import --change 'CMD ["python3"]' - "$base" >/dev/null
  fi
fi

# pip inside the build reaches the same package registries as this machine: its CA bundle, its pip
# configuration and any local wheel directories or file:// indexes that configuration names
build=(--format docker --network host -v /etc/ssl/certs:/etc/ssl/certs:ro)
pip_conf=${PIP_CONFIG_FILE:-$HOME/.config/pip/pip.conf}
if [ -f "$pip_conf" ]; then
  build+=(-v "$pip_conf:/etc/pip.conf:ro")
  for dir in $(grep -oE '(file://)?/[^ ]+' "$pip_conf" | sed 's|^file://||'); do
    dir=${dir%/simple}
    [ -d "$dir" ] && build+=(-v "$dir:$dir:ro")
  done
fi
[ -f /etc/pip.conf ] && [ ! -f "$pip_conf" ] && build+=(-v /etc/pip.conf:/etc/pip.conf:ro)
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CERT PIP_DEFAULT_TIMEOUT; do
  if [ -n "${!name:-}" ]; then
    build+=(--env "$name=${!name}")
    [ "$name" = PIP_FIND_LINKS ] && [ -d "${!name}" ] && build+=(-v "${!name}:${!name}:ro")
  fi
done
[ -n "$base" ] && build+=(--build-arg "BASE_IMAGE=$base")
echo "container: building $image"
log=$(mktemp)
if ! podman build "${build[@]}" -t "$image" "$root" >"$log" 2>&1; then
  tail -40 "$log" >&2
  exit 1
fi
rm -f "$log"

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "container: $image is $((size / 1000000)) MB; the largest parts of its Python environment (MB):"
podman run --rm --entrypoint sh "$image" -c 2>/dev/null \
  'du -sm /opt/fairprobe/lib/python3.11/site-packages/* | sort -rn | head -8; du -sm / 2>/dev/null | tail -1'

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name=fairprobe-check-$$
# podman without systemd cannot schedule the HEALTHCHECK's timer (it says so); the check itself runs below
podman run -d --rm --network host -e "FAIRPROBE_BIND=127.0.0.1:$port" --name "$name" "$image" >/dev/null 2>&1
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "${rootfs:-/nonexistent}"' EXIT
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz"
echo
report=$(curl -fsS "http://127.0.0.1:$port/v1/audits" -H 'Content-Type: application/json' --data \
  '{"data": {"columns": {"g": ["a","a","a","b","b","b"], "y": [1,0,1,1,0,0], "p": [1,0,1,0,0,1]}},
    "label": "y", "prediction": "p", "protected": [{"attribute": "g"}]}')
echo "container: an audit through it answered verdict $(echo "$report" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])')"
echo "container: its HEALTHCHECK is $(podman inspect --format '{{.Config.Healthcheck.Test}}' "$name" | cut -c1-60)..."
podman healthcheck run "$name" 2>/dev/null && echo "container: the HEALTHCHECK passes (kept by --format docker)"
podman logs "$name" 2>&1 | head -3
