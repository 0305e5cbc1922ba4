#!/bin/sh
# test_buildinfo.sh - BENCH_GIT_SHA (build/benches/buildinfo.h) has no -dirty after `make
# bench` rewrote its generated outputs (results/*.md, plots/), and does after a source edit.
# Works on a throw-away clone of this checkout's HEAD; ~5 s.
set -eu
top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$top" "$tmp/c"
cd "$tmp/c"
info() { make -s --no-print-directory BUILD=b b/benches/buildinfo.h >/dev/null 2>&1; sed -n 's/#define BENCH_GIT_SHA "\(.*\)"/\1/p' b/benches/buildinfo.h; }
fail() { echo "FAIL: test_buildinfo: $*"; exit 1; }
[ "$(info)" = "$(git rev-parse HEAD)" ] || fail "clean clone records '$(info)'"
for f in results/index.md results/T1.csv plots/*.svg; do [ -f "$f" ] && echo x >> "$f"; done
[ "$(info)" = "$(git rev-parse HEAD)" ] || fail "rewritten tables/plots record '$(info)'"
echo "/* edit */" >> runtime/src/proc.c
case "$(info)" in *-dirty) ;; *) fail "a source edit records '$(info)', want -dirty" ;; esac
echo "test_buildinfo: generated outputs ignored, source edits -dirty"
