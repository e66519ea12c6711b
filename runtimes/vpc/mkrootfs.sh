#!/bin/bash
# Build the root filesystem of lsim's ENI image (lsim/vpc): a minimal Debian with iptables and iproute2.
#
#   mkrootfs.sh <suite> <target-dir> [<mirror>] [<deb-cache-dir>]
#
# Run as root. simulator/sandbox/vpc_image.py calls this, tars <target-dir> into `docker import` and
# deletes the folder. Each Hyperplane ENI is a container of this image holding the network namespace that
# its functions' containers join; iptables in it enforces the security groups, `ip` sets its default route.
# Only a Debian mirror is needed (the same .deb cache as lsim/base), no container registry.
set -euo pipefail

suite=${1:?usage: mkrootfs.sh <suite> <target-dir> [<mirror>] [<deb-cache-dir>]}
target=${2:?usage: mkrootfs.sh <suite> <target-dir> [<mirror>] [<deb-cache-dir>]}
mirror=${3:-http://deb.debian.org/debian}
debcache=${4:-}

if [ "$(id -u)" != 0 ]; then
    echo "mkrootfs.sh: debootstrap needs root" >&2
    exit 1
fi

args=(--variant=minbase --include=iptables,iproute2)
if [ -n "$debcache" ]; then
    mkdir -p "$debcache"
    args+=("--cache-dir=$debcache")
fi
mkdir -p "$target/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$target/etc/dpkg/dpkg.cfg.d/lsim-unsafe-io"

echo "lsim: debootstrap $suite (iptables, iproute2) from $mirror into $target"
debootstrap "${args[@]}" "$suite" "$target" "$mirror"

echo "lsim: trimming the root filesystem"
(
    cd "$target"
    rm -rf usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/i18n
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/apt/archives/partial/*
    rm -f var/cache/debconf/*-old var/lib/dpkg/*-old
    rm -rf var/log/* tmp/* var/tmp/*
    : >etc/resolv.conf
    rm -f etc/hostname
    : >etc/machine-id
)
echo "lsim: root filesystem ready ($(du -sh --one-file-system "$target" | cut -f1))"
