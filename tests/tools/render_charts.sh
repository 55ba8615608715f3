#!/bin/sh
# Renders the analytics plugin's sample charts (conversion funnel, time in stage, plan
# coverage, velocity; with 0, 1, 6 and 30 rows and awkward names) to PNG for a person to look
# at after changing plugins/analytics/svg_*.c. The SVGs come from the renderers' unit test
# (`test_analytics_render --samples DIR`); rsvg-convert turns them into PNGs.
#
#   tests/tools/render_charts.sh BUILD_DIR [OUT_DIR]     (OUT_DIR defaults to BUILD_DIR/charts)
set -eu
build=${1:?usage: render_charts.sh BUILD_DIR [OUT_DIR]}
out=${2:-$build/charts}
test_bin=$build/tests/test_analytics_render
[ -x "$test_bin" ] || { echo "build the test first: cmake --build $build --target test_analytics_render" >&2; exit 1; }
command -v rsvg-convert >/dev/null || { echo "rsvg-convert is missing (Debian: librsvg2-bin)" >&2; exit 1; }
mkdir -p "$out"
"$test_bin" --samples "$out"
for svg in "$out"/*.svg; do
  rsvg-convert --background-color=white "$svg" -o "${svg%.svg}.png"
done
ls "$out"/*.png
