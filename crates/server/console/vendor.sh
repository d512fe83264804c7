#!/usr/bin/env bash
# Refreshes the console's vendored chart library, uPlot, from the npm registry:
#   bash crates/server/console/vendor.sh
# It fetches the pinned release with `npm pack` (npm checks the tarball against the registry's
# integrity hash), copies the minified script, its stylesheet and its license into vendor/, and
# checks the copies against the digests below, so the same version always yields the same
# files. To move to another version: change UPLOT_VERSION, run with UPDATE=1 to print the
# new digests, review the upstream changes, paste the digests here, and commit the files.
set -euo pipefail

UPLOT_VERSION=1.6.32
declare -A SHA256=(
  [uPlot.iife.min.js]=19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f
  [uPlot.min.css]=df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04
  [uPlot.LICENSE.txt]=8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd
)

here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

(cd "$scratch" && npm pack --silent "uplot@${UPLOT_VERSION}" >/dev/null)
tar -xzf "$scratch/uplot-${UPLOT_VERSION}.tgz" -C "$scratch"
mkdir -p "$here/vendor"
cp "$scratch/package/dist/uPlot.iife.min.js" "$here/vendor/uPlot.iife.min.js"
cp "$scratch/package/dist/uPlot.min.css" "$here/vendor/uPlot.min.css"
cp "$scratch/package/LICENSE" "$here/vendor/uPlot.LICENSE.txt"

status=0
for file in "${!SHA256[@]}"; do
  actual="$(sha256sum "$here/vendor/$file" | cut -d' ' -f1)"
  if [ "${UPDATE:-0}" = 1 ]; then
    echo "  [$file]=$actual"
  elif [ "$actual" != "${SHA256[$file]}" ]; then
    echo "vendor/$file: sha256 $actual, expected ${SHA256[$file]}" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "uPlot ${UPLOT_VERSION} vendored into $here/vendor"
exit "$status"
