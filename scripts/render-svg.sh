#!/usr/bin/env bash
# Renders an SVG diagram (herd-sim run --svg) to a PNG with headless
# Chromium, to see it as a browser shows it.
#   scripts/render-svg.sh diagram.svg [out.png] [WIDTHxHEIGHT]
# The window defaults to the SVG's own size (capped at 16000 px high).
# Needs Debian's `chromium` package (apt-get install -y chromium).
set -euo pipefail

svg=${1:?usage: scripts/render-svg.sh FILE.svg [OUT.png] [WIDTHxHEIGHT]}
png=${2:-${svg%.svg}.png}
size=${3:-}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "error: no chromium found (apt-get install -y chromium)" >&2
    exit 3
fi
if [ -z "$size" ]; then
    w=$(grep -o -m1 '<svg[^>]* width="[0-9]*"' "$svg" | sed 's/.*width="\([0-9]*\)"/\1/')
    h=$(grep -o -m1 '<svg[^>]* height="[0-9]*"' "$svg" | sed 's/.*height="\([0-9]*\)"/\1/')
    w=${w:-1600}
    h=${h:-1000}
    [ "$h" -gt 16000 ] && h=16000
    size="${w},${h}"
else
    size=${size/x/,}
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
root=()
[ "$(id -u)" = 0 ] && root=(--no-sandbox)
"$browser" --headless "${root[@]}" --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --screenshot="$png" \
    --window-size="$size" "file://$(realpath "$svg")" >/dev/null 2>&1
echo "$png"
