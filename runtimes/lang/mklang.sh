#!/bin/sh
# Make /var/lang the runtime's interpreter, laid out as on Lambda: /var/lang/bin/python3.X,
# /var/lang/lib/python3.X (the standard library) and /var/lang/lib/python3.X/site-packages on sys.path.
#
#   mklang.sh system 3.11   the base image's own python3.11: copied to /var/lang/bin, its standard
#                           library linked at /var/lang/lib/python3.11 (CPython finds its prefix from
#                           where its executable is, so sys.prefix is /var/lang)
#   mklang.sh tree 3.12     a CPython tree already copied to /var/lang: the base's own Python is
#                           removed, so nothing can run another version by accident
#
# Either way `python3` on PATH is the runtime's interpreter, and the build fails unless it is exactly
# Python 3.X and its extension modules load (a tree built against a newer glibc fails here).
set -eu
mode=$1
version=$2
lang=/var/lang
site=$lang/lib/python$version/site-packages

case "$mode" in
system)
    py=$(command -v "python$version") || { echo "lsim: the base image has no python$version" >&2; exit 1; }
    real=$(readlink -f "$py")
    stdlib=$("$real" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    mkdir -p "$lang/bin" "$lang/lib"
    cp -p "$real" "$lang/bin/python$version"
    ln -s "$stdlib" "$lang/lib/python$version"
    mkdir -p "$stdlib/site-packages"
    if ! "$lang/bin/python$version" -c "import sys; sys.exit('$site' not in sys.path)"; then
        # Debian's site.py looks in its dist-packages folders only: add Lambda's site-packages.
        rm -f "$stdlib/sitecustomize.py"
        cat >"$stdlib/sitecustomize.py" <<PY
# lsim: Lambda's site-packages, which Debian's site.py does not add by itself.
import site
import sys

site.addsitedir(f"{sys.prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages")
PY
    fi
    ;;
tree)
    installed=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'python3*' 'libpython3*' 2>/dev/null |
        awk '$1 == "installed" { print $2 }')
    if [ -n "$installed" ]; then
        # shellcheck disable=SC2086  # a list of package names
        dpkg --purge $installed >/dev/null
    fi
    mkdir -p "$site"
    echo "$lang/lib" >/etc/ld.so.conf.d/lsim-var-lang.conf
    ldconfig
    ;;
*)
    echo "usage: mklang.sh system|tree 3.X" >&2
    exit 2
    ;;
esac

ln -sf "python$version" "$lang/bin/python3"
ln -sf "python$version" "$lang/bin/python"
for name in python3 "python$version" python; do
    ln -sf "$lang/bin/python$version" "/usr/local/bin/$name"
done

"$lang/bin/python$version" - "$version" "$site" <<'PY'
import sys

want = tuple(int(part) for part in sys.argv[1].split("."))
if sys.version_info[:2] != want:
    sys.exit(f"lsim: /var/lang has Python {sys.version.split()[0]}, not {sys.argv[1]}")
if sys.argv[2] not in sys.path:
    sys.exit(f"lsim: {sys.argv[2]} is not on sys.path: {sys.path}")
import bz2, ctypes, decimal, hashlib, json, lzma, sqlite3, ssl, uuid, zlib  # noqa: E401,F401  (they load)

print(f"lsim: /var/lang has Python {sys.version.split()[0]} ({sys.prefix}), {ssl.OPENSSL_VERSION}")
PY
