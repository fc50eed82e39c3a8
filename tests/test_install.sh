#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds and runs a downstream project that uses
# find_package(qbopt) and qbopt::qbopt.
set -euo pipefail
build=$1
src=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/qbopt-install.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cmake --install "$build" --prefix "$dir/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$dir/consumer" -DCMAKE_PREFIX_PATH="$dir/prefix" >/dev/null
cmake --build "$dir/consumer" >/dev/null
"$dir/consumer/consumer"
test -x "$dir/prefix/bin/qbopt"
