#!/usr/bin/env bash
# Regenerates the book's screenshots (book/src/figures/*.png, shown in chapter 1's "Looking at a
# run"): the recorded HTML page of kv-quorum-311 and the live debugger opened at the failure of
# worker-crash-naive, each at 1600x1000 and at 800x1000, with Debian's headless chromium.
# Needs the release binary (cargo build --release). A few seconds. Fails loudly when chromium
# writes no image, or a blank one.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then chromium="$b"; break; fi
done
if [ -z "$chromium" ]; then
    echo "screenshots.sh: skipped: no chromium (.ci/browser.sh installs Debian's chromium)"
    exit 0
fi
bin="${CARGO_TARGET_DIR:-target}/release/clustersim"
if [ ! -x "$bin" ]; then
    echo "screenshots.sh: $bin is missing; run cargo build --release first" >&2
    exit 1
fi

out=book/src/figures
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# shot URL WIDTH NAME: one screenshot at WIDTHx1000, checked to be a PNG of that size and not
# blank (a page that drew nothing compresses to a few kilobytes).
shot() {
    local url=$1 width=$2 png=$out/$3
    rm -f "$png"
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$work/profile-$3" --virtual-time-budget=5000 \
        --window-size="$width,1000" --screenshot="$png" "$url" >"$work/chromium.log" 2>&1 || true
    if [ ! -s "$png" ]; then
        echo "screenshots.sh: FAILED: chromium wrote no image $png; it said:" >&2
        cat "$work/chromium.log" >&2
        exit 1
    fi
    local size
    size=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "not-a-png")' "$png")
    if [ "$size" != "${width}x1000" ]; then
        echo "screenshots.sh: FAILED: $png is $size, not ${width}x1000" >&2
        exit 1
    fi
    if [ "$(stat -c %s "$png")" -lt 20000 ]; then
        echo "screenshots.sh: FAILED: $png is nearly empty ($(stat -c %s "$png") bytes)" >&2
        exit 1
    fi
    echo "  $png ($size, $(stat -c %s "$png") bytes)"
}

mkdir -p "$out"
echo "== the recorded page (clustersim run scenarios/kv-quorum-311.ron --html)"
"$bin" run scenarios/kv-quorum-311.ron --quiet --html "$work/page.html" >/dev/null || true
[ -s "$work/page.html" ] || { echo "screenshots.sh: FAILED: no page written" >&2; exit 1; }
shot "file://$work/page.html" 1600 page-1600.png
shot "file://$work/page.html" 800 page-800.png

echo "== the debugger (clustersim debug scenarios/worker-crash-naive.ron --at-failure)"
"$bin" debug scenarios/worker-crash-naive.ron --at-failure --port 0 --out "$work" >"$work/debug.out" 2>&1 &
server=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$work/debug.out" || true)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "screenshots.sh: FAILED: the debugger printed no address" >&2; cat "$work/debug.out" >&2; exit 1; }
shot "$url" 1600 debugger-1600.png
shot "$url" 800 debugger-800.png
