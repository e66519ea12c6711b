#!/bin/bash
# Set up a machine for lsim development and tests: the Python package with its dev extras, a running
# Docker engine, and the runtime images the tests use (built offline, no container registry needed).
#
#   sudo scripts/setup.sh        # fresh Debian machine: installs docker.io and debootstrap as well
#   scripts/setup.sh             # again on a set-up machine: checks everything in about 2 s
#
# Idempotent. Environment: PYTHON (default python3), LSIM_RUNTIMES (default "python3.11 provided.al2023").
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
RUNTIMES=${LSIM_RUNTIMES:-python3.11 provided.al2023}
DOCKERD_LOG=/var/log/lsim-dockerd.log
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lsim"
is_root() { [ "$(id -u)" = 0 ]; }
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

apt_updated=
apt_install() {
    is_root || die "missing $*; run as root: apt-get update && apt-get install -y $*   (or: sudo $0)"
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# --- 1. the Python package -------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || apt_install python3 python3-pip
"$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip

stamp="$CACHE/setup-pip.stamp"
want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1) $(command -v "$PYTHON") $REPO"
installed_here() {
    # lsim is installed (editable) from this checkout, and its main dependencies import.
    (cd / && "$PYTHON" - "$REPO" <<'EOF'
import importlib.metadata, pathlib, sys
import docker, pydantic, pytest, typer  # noqa: F401
import simulator
sys.exit(0 if pathlib.Path(next(iter(simulator.__path__))).resolve().is_relative_to(sys.argv[1]) else 1)
EOF
    ) >/dev/null 2>&1
}
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && installed_here; then
    say "lsim and its dev extras already installed ($PYTHON)"
else
    say "pip install -e '.[dev]' ($PYTHON)"
    pip_args=(-m pip install -q -e "$REPO[dev]")
    # Debian's own python3 refuses pip installs outside a venv (PEP 668); on a machine set up for
    # lsim's tests, installing into it is what we want.
    if "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
        pip_args+=(--break-system-packages)
    fi
    (cd "$REPO" && PIP_ROOT_USER_ACTION=ignore "$PYTHON" "${pip_args[@]}")
    mkdir -p "$CACHE" && printf '%s\n' "$want" >"$stamp"
fi

# --- 2. the Docker engine --------------------------------------------------------------------------
engine_up() {
    if command -v docker >/dev/null; then
        docker info >/dev/null 2>&1
    else
        "$PYTHON" -c 'import docker; docker.from_env().ping()' >/dev/null 2>&1
    fi
}

if engine_up; then
    say "Docker engine is running"
else
    if ! is_root; then
        if [ -S /var/run/docker.sock ]; then
            die "the Docker engine runs but $(id -un) may not use it; run: sudo usermod -aG docker $(id -un) (then log in again), or run this script with sudo"
        fi
        die "no Docker engine; run: sudo apt-get update && sudo apt-get install -y docker.io iptables debootstrap && sudo $0"
    fi
    # /usr/local/bin/docker may be a client only: the engine is dockerd.
    if ! command -v dockerd >/dev/null; then
        apt_install docker.io
    fi
    command -v iptables >/dev/null || apt_install iptables
    if ! engine_up; then
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
            say "starting docker.service"
            systemctl start docker || true
        fi
    fi
    if ! engine_up; then
        say "starting dockerd in the background (log: $DOCKERD_LOG)"
        nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
        disown || true
    fi
    for _ in $(seq 1 60); do
        engine_up && break
        sleep 1
    done
    engine_up || die "the Docker engine did not start within 60 s; see $DOCKERD_LOG"
    say "Docker engine is running"
fi

# zip and unzip: the README's layer workflow (`zip -r layer.zip python/`) and `make bench`'s baseline.
missing=()
for tool in zip unzip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    if is_root; then apt_install "${missing[@]}"; else say "note: ${missing[*]} missing (apt-get install ${missing[*]})"; fi
fi

# --- 3. the runtime images -------------------------------------------------------------------------
# The offline base images come from debootstrap (root, once per machine); the rest needs only Docker.
if ! command -v debootstrap >/dev/null && is_root; then
    apt_install debootstrap
fi
say "runtime images: $RUNTIMES"
# shellcheck disable=SC2086  # RUNTIMES is a list of words
(cd "$REPO" && "$PYTHON" -m simulator.sandbox.images $RUNTIMES)
say "done"
