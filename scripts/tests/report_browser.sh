#!/bin/sh
# report_browser.sh - open a report page in Debian's headless Chromium (make test-report).
#
# Builds the tables, all six plots and the report from the test fixture
# (scripts/tests/fixtures/full.json) into $BUILD/report-test/, then with /usr/bin/chromium:
#   1. --dump-dom after load: the page's own check (report.py's CHECK_JS) must have found
#      every <img> decoded: data-images="N/N" on <html>, N = the plots drawn (6);
#   2. --screenshot of the top 1400x2400 px to $BUILD/report-test/report.png (kept for a
#      person to look at; checked to be a PNG of more than 20 KB).
# Exit 0 when both hold; 1 with one line saying which failed.
set -eu
PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}
D=$BUILD/report-test
rm -rf "$D" && mkdir -p "$D"
fail() { echo "report_browser: $*" >&2; exit 1; }

$PYTHON scripts/tables.py --out "$D/results" --no-go-source scripts/tests/fixtures/full.json \
    >"$D/log" 2>&1 || fail "tables.py failed: $(tail -1 "$D/log")"
$PYTHON scripts/plot.py --results "$D/results" --out "$D/plots" >>"$D/log" 2>&1 \
    || fail "plot.py failed: $(tail -1 "$D/log")"
$PYTHON scripts/report.py --results "$D/results" --plots "$D/plots" \
    --run scripts/tests/fixtures/full.json --out "$D/report.html" >>"$D/log" 2>&1 \
    || fail "report.py failed: $(tail -1 "$D/log")"
n=$(ls "$D"/plots/*.png | wc -l)

# Flags: headless, no sandbox (root), and no background network (this machine has none).
chrome() {
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$D/profile" --hide-scrollbars "$@" 2>>"$D/chromium.log"
}
url="file://$(cd "$D" && pwd)/report.html"
chrome --virtual-time-budget=5000 --dump-dom "$url" >"$D/dom.html" \
    || fail "chromium --dump-dom failed (see $D/chromium.log)"
got=$(sed -n 's/.*<html[^>]* data-images="\([^"]*\)".*/\1/p' "$D/dom.html" | head -1)
[ "$got" = "$n/$n" ] || fail "images decoded in Chromium: '$got', want $n/$n"
chrome --window-size=1400,2400 --screenshot="$D/report.png" "$url" >/dev/null \
    || fail "chromium --screenshot failed (see $D/chromium.log)"
size=$(stat -c %s "$D/report.png" 2>/dev/null || echo 0)
head -c 4 "$D/report.png" | grep -q PNG && [ "$size" -gt 20000 ] \
    || fail "screenshot $D/report.png missing or blank ($size bytes)"
echo "report_browser: $n/$n images decoded in headless Chromium; screenshot $D/report.png ($size bytes)"
