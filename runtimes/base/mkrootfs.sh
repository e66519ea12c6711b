#!/bin/bash
# Build a small Debian root filesystem for lsim's offline images: the runtimes' base (lsim/base:<suite>)
# and the VPC's ENI image (lsim/vpc, with the packages iptables,iproute2).
#
#   mkrootfs.sh <suite> <target-dir> [<mirror>] [<deb-cache-dir>] [<packages>] [<arch>] [<script>]
#
# Run as root. simulator/sandbox/rootfs.py calls this, tars <target-dir> into `docker import`
# and deletes the folder. Only a Debian mirror is needed, no container registry.
# <arch> is Debian's name (amd64, arm64); another than the host's is bootstrapped in two stages, the
# second one run under QEMU user emulation (binfmt_misc must have it registered). <script> names the
# debootstrap script to use for a suite this debootstrap does not know yet (e.g. forky with sid's).
#
# Why the base's packages (the default): python3 is the interpreter for the python runtimes,
# ca-certificates lets function code speak HTTPS, curl is what AWS's own custom-runtime examples use in a
# shell `bootstrap`, and locales is only kept long enough to compile en_US.UTF-8 (Lambda's LANG).
set -euo pipefail

usage="usage: mkrootfs.sh <suite> <target-dir> [<mirror>] [<deb-cache-dir>] [<packages>] [<arch>] [<script>]"
suite=${1:?$usage}
target=${2:?$usage}
mirror=${3:-http://deb.debian.org/debian}
debcache=${4:-}
packages=${5:-python3,ca-certificates,curl,locales}
arch=${6:-$(dpkg --print-architecture)}
script=${7:-}

if [ "$(id -u)" != 0 ]; then
    echo "mkrootfs.sh: debootstrap needs root" >&2
    exit 1
fi

args=(--variant=minbase "--include=$packages" "--arch=$arch")
foreign=
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
    foreign=1
    args+=(--foreign)
fi
if [ -n "$debcache" ]; then
    # Keep the downloaded .debs, so rebuilding a deleted base image does not download again.
    mkdir -p "$debcache"
    args+=("--cache-dir=$debcache")
fi

# dpkg inside the chroot reads its configuration from the target: without fsync after every file it
# installs the base system about twice as fast (Debian's own Docker images ship the same setting).
mkdir -p "$target/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$target/etc/dpkg/dpkg.cfg.d/lsim-unsafe-io"

echo "lsim: debootstrap $suite/$arch ($packages) from $mirror into $target"
debootstrap "${args[@]}" "$suite" "$target" "$mirror" ${script:+"$script"}
if [ -n "$foreign" ]; then
    echo "lsim: second stage of debootstrap, under QEMU user emulation (several minutes)"
    chroot "$target" /debootstrap/debootstrap --second-stage
fi

# Lambda sets LANG=en_US.UTF-8. Amazon Linux 2 has that locale, Amazon Linux 2023 only has C.UTF-8
# (https://github.com/aws/aws-lambda-base-images/issues/229). Compile it here into its own folder;
# the runtime Dockerfiles delete it again for runtimes that Lambda runs on AL2023.
case ",$packages," in
    *,locales,*)
        echo "lsim: compiling the en_US.UTF-8 locale"
        chroot "$target" localedef --no-archive -c -i en_US -f UTF-8 /usr/lib/locale/en_US.UTF-8 ||
            [ -d "$target/usr/lib/locale/en_US.UTF-8" ]
        chroot "$target" dpkg --purge locales >/dev/null
        ;;
esac

# Later `apt-get install`s in derived images stay small too (as in Debian's own slim images).
mkdir -p "$target/etc/dpkg/dpkg.cfg.d"
cat >"$target/etc/dpkg/dpkg.cfg.d/lsim-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$target/etc/apt/apt.conf.d/lsim-slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
EOF

echo "lsim: trimming the root filesystem"
(
    cd "$target"
    find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
    find usr/share/doc -mindepth 1 -type d -empty -delete
    rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/lintian usr/share/i18n
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/apt/archives/partial/*
    rm -f var/cache/debconf/*-old var/lib/dpkg/*-old
    rm -rf var/log/* tmp/* var/tmp/*
    # Host specific files: Docker provides these at run time.
    : >etc/resolv.conf
    rm -f etc/hostname
    : >etc/machine-id
)
echo "lsim: root filesystem ready ($(du -sh --one-file-system "$target" | cut -f1))"
