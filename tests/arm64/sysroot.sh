#!/bin/sh
# tests/arm64/sysroot.sh DIR - unpack the arm64 packages that cannot be co-installed with
# their amd64 versions into DIR (a private sysroot under build/), once.
#
# libnanomsg5 is not Multi-Arch: same, so `apt-get install libcriterion3:arm64` would
# remove the host's libcriterion3 (and libcriterion-dev).  busybox-static:arm64 conflicts
# with the host's busybox-static the same way, and libst1:arm64 (State Threads, a bench
# peer) with the host's libst1.  They are fetched with `apt-get download` (no
# installation) and unpacked with dpkg-deb:
#   DIR/usr/lib/aarch64-linux-gnu/libcriterion.so{.3,}  + libnanomsg.so.5   (unit tests)
#   DIR/usr/lib/aarch64-linux-gnu/libst.so{.1,}                            (bench)
#   DIR/bin/busybox, DIR/usr/bin/papi_avail                               (PMU guest)
# The Criterion headers are the host's (libcriterion-dev: same version, arch-independent).
# Exit: 0 ready, 2 a package could not be fetched (the caller skips with that line).
set -eu
DIR=${1:?usage: sysroot.sh DIR}
PKGS="libcriterion3:arm64 libnanomsg5:arm64 busybox-static:arm64 papi-tools:arm64 libst1:arm64"
[ -f "$DIR/.done" ] && exit 0
rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp/dl"
# apt's sandbox user cannot write into a root-owned build folder: download in /tmp.
DL=$(mktemp -d /tmp/mn-arm64-dl.XXXXXX)
trap 'rm -rf "$DL" "$DIR.tmp"' EXIT
chmod 755 "$DL"
if ! (cd "$DL" && apt-get download $PKGS >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
    (cd "$DL" && apt-get download $PKGS >/dev/null 2>&1) || {
        echo "arm64: apt-get download $PKGS failed (is the arm64 architecture added? dpkg --add-architecture arm64; apt-get update)" >&2
        exit 2
    }
fi
for d in "$DL"/*.deb; do dpkg-deb -x "$d" "$DIR.tmp"; done
rm -rf "$DIR.tmp/dl"
L=$DIR.tmp/usr/lib/aarch64-linux-gnu
ln -sf libcriterion.so.3 "$L/libcriterion.so"
# libst1 installs into /usr/lib (not multiarch): move it beside the others.
mv "$DIR.tmp"/usr/lib/libst.so.* "$L/" && ln -sf libst.so.1 "$L/libst.so"

touch "$DIR.tmp/.done"
rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
