#!/bin/bash
# Builds jemalloc 5.3.0's static library with other size-class settings, for
# `diff.mjs --jemalloc DIR`:
#
#   scripts/native-replay/build-jemalloc.sh SRC LG_QUANTUM LG_PAGE LG_HUGEPAGE [OUT]
#
# SRC: a jemalloc source tree at tag 5.3.0 (git clone --branch 5.3.0
# https://github.com/jemalloc/jemalloc); needs autoconf, gcc and make. OUT (default
# /tmp/jemalloc-qQ-pP-hH) gets the configured build and lib/libjemalloc.a; a build already
# there is kept. The version string is the tag's, as the release tarball sets it (a git
# tree without it would report 0.0.0).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 SRC LG_QUANTUM LG_PAGE LG_HUGEPAGE [OUT]" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
q=$2 p=$3 h=$4
out=${5:-/tmp/jemalloc-q$q-p$p-h$h}
for v in "$q" "$p" "$h"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "$0: not a number: $v" >&2; exit 2; }
done
[ -f "$src/configure.ac" ] || { echo "$0: $src is not a jemalloc source tree" >&2; exit 2; }
[ -x "$src/configure" ] || (cd "$src" && autoconf)
mkdir -p "$out"
cd "$out"
if [ ! -f lib/libjemalloc.a ]; then
  "$src/configure" --with-lg-quantum="$q" --with-lg-page="$p" --with-lg-hugepage="$h" --disable-cxx \
    --with-version=5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c >configure.log 2>&1
  make -j"$(nproc)" lib/libjemalloc.a >make.log 2>&1
fi
echo "$out"
