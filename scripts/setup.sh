#!/bin/bash
# Set up a machine for lsim development and tests: the Python package with its dev extras, a running
# Docker engine, and the runtime images the tests use (built offline, no container registry needed).
#
#   sudo scripts/setup.sh        # fresh Debian machine: installs docker.io and debootstrap as well
#   scripts/setup.sh             # again on a set-up machine: checks everything in about 2 s
#
# Idempotent. Environment: PYTHON (default python3); LSIM_RUNTIMES, the runtime images to build (default: what
# the tests use, every Python runtime and provided.al2023); LSIM_ARM64_RUNTIMES, their arm64 images (default
# python3.11; "" for none). python3.10 and python3.12 are built from a CPython installation of that version
# found in pyenv's or uv's folder (or named by LSIM_PYTHON_3_10 / LSIM_PYTHON_3_12); without one they are
# skipped with a note.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
RUNTIMES=${LSIM_RUNTIMES:-python3.10 python3.11 python3.12 python3.13 python3.14 provided.al2023}
ARM64_RUNTIMES=${LSIM_ARM64_RUNTIMES-python3.11}
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

# --- 3. arm64 emulation ----------------------------------------------------------------------------
# arm64 functions run under QEMU user emulation: Debian's qemu-user-static registers its interpreters in the
# kernel's binfmt_misc with the F flag, which containers need. lsim refuses arm64 functions without it.
if [ -n "$ARM64_RUNTIMES" ] && [ "$(uname -m)" = x86_64 ]; then
    if [ ! -e /proc/sys/fs/binfmt_misc/status ] && is_root; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        if is_root && [ -e /proc/sys/fs/binfmt_misc/status ]; then
            command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static binfmt-support
            update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
        fi
    fi
    if grep -qs '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
        say "arm64 emulation: qemu-aarch64 registered in binfmt_misc"
    else
        say "note: arm64 emulation is not available here (binfmt_misc or qemu-user-static); arm64 images skipped"
        ARM64_RUNTIMES=
    fi
fi

# --- 4. the runtime images -------------------------------------------------------------------------
# The offline base images come from debootstrap (root, once per machine); the rest needs only Docker.
if ! command -v debootstrap >/dev/null && is_root; then
    apt_install debootstrap
fi

# A CPython installation of version $1 for the runtimes no Debian suite has: LSIM_PYTHON_3_X, else pyenv's or
# uv's newest of that version; nothing if none.
tree_for() {
    local version=$1 var found
    var="LSIM_PYTHON_${version//./_}"
    if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
    for found in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".* \
        "$HOME"/.local/share/uv/python/cpython-"$version".*-linux-x86_64-gnu 2>/dev/null | sort -V -r); do
        if [ -x "$found/bin/python$version" ]; then echo "$found"; return; fi
    done
}

has_image() { "$PYTHON" -c 'import docker, sys; docker.from_env().images.get(sys.argv[1])' "$1" >/dev/null 2>&1; }

build_images() {  # build_images ARCH RUNTIME...
    local arch=$1 runtime version tree
    shift
    for runtime in "$@"; do
        version=${runtime#python}
        case "$runtime" in
        python3.10 | python3.12)
            if has_image "lsim/lang:$runtime$([ "$arch" = arm64 ] && echo -arm64)"; then
                tree=
            else
                tree=$(tree_for "$version")
                if [ -z "$tree" ] || [ "$arch" != x86_64 ]; then
                    say "note: $runtime ($arch) skipped: no CPython $version installation found (pyenv install $version, then run this again)"
                    continue
                fi
            fi
            (cd "$REPO" && "$PYTHON" -m simulator.sandbox.images --arch "$arch" ${tree:+--python "$tree"} "$runtime")
            ;;
        *)
            (cd "$REPO" && "$PYTHON" -m simulator.sandbox.images --arch "$arch" "$runtime")
            ;;
        esac
    done
}

say "runtime images: $RUNTIMES${ARM64_RUNTIMES:+; arm64: $ARM64_RUNTIMES}"
# shellcheck disable=SC2086  # lists of words
build_images x86_64 $RUNTIMES
# shellcheck disable=SC2086
[ -z "$ARM64_RUNTIMES" ] || build_images arm64 $ARM64_RUNTIMES
say "done"
