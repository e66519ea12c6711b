#!/usr/bin/env bash
# Build the sample image: awslambdaric from PyPI into packages/, for Linux x86_64 and Python 3.11,
# then the image. Usage: ./build.sh [BASE_IMAGE] (default: lsim's offline base, built by lsim if missing).
set -euo pipefail
cd "$(dirname "$0")"
base=${1:-lsim/base:bookworm}
if [ "$base" = lsim/base:bookworm ] && ! docker image inspect "$base" >/dev/null 2>&1; then
    python3 -m simulator.sandbox.images python3.11
fi
rm -rf packages
python3 -m pip install --quiet --target packages --platform manylinux2014_x86_64 --python-version 3.11 \
    --implementation cp --only-binary=:all: awslambdaric
docker build --quiet --build-arg BASE="$base" -t lsim-sample/awslambdaric:latest . >/dev/null
echo "built lsim-sample/awslambdaric:latest"
