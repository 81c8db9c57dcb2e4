#!/usr/bin/env bash
# Builds the release artefacts of version VERSION into OUT (default
# dist/VERSION), from the checked-out source, on Debian 12 x86_64:
#   secret-rotator-VERSION-x86_64.zip        the Lambda package for x86_64
#   secret-rotator-VERSION-arm64.zip         the same, cross-compiled for arm64
#   secret-rotator-VERSION-ARCH.zip.debug    their separate debug information
#   secret-rotator-VERSION-template.yaml     deploys a released zip from S3, builds
#                                            nothing (packaging/release-template.sh)
#   README.md (and LICENSE with --license-file): the template's ReadmeUrl/LicenseUrl
#   SHA256SUMS                               sha256sum of every file above
# Each zip passes package.sh's checks (glibc ceiling 2.34). The builds are
# Release builds without tests, in build-release/x86_64 and build-release/arm64
# (cmake/aarch64-linux-gnu.cmake; scripts/install-deps.sh --arm64 installs
# the cross compiler). The package tests run each zip (ctest -L package in a
# build configured with -DSECRET_ROTATOR_ARM64_BOOTSTRAP, .ci/run).
#
# Usage: packaging/release.sh VERSION [--out DIR] [--db-ca-bundle FILE]
#            [--allow-older-source] [--spdx-license ID --license-file FILE] [--source-url URL]
# Both zips ship Amazon RDS's CA bundle (packaging/db-ca-bundle.sh);
# --db-ca-bundle ships FILE instead. The static libcurl and libpq must be
# built from the newest Debian source apt offers (a mirror that lacks it is an
# error); --allow-older-source accepts an older one, with the build's warning.
# The other options go to release-template.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
version=$1
shift
out="dist/$version" ca_bundle="" template_args=() license_file="" newest_source_only=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --db-ca-bundle) ca_bundle=$(realpath "$2"); shift 2 ;;
    --allow-older-source) newest_source_only=0; shift ;;
    --spdx-license|--source-url) template_args+=("$1" "$2"); shift 2 ;;
    --license-file) license_file=$2; template_args+=("$1" "$2"); shift 2 ;;
    *) echo "release.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || {
  echo "release.sh: '$version' is not a version like 1.2.3" >&2
  exit 2
}
[ -z "$license_file" ] || [ -r "$license_file" ] || { echo "release.sh: cannot read $license_file" >&2; exit 2; }
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] &&
  echo "release.sh: warning: the working tree has uncommitted changes" >&2

export SECRET_ROTATOR_NEWEST_SOURCE_ONLY=$newest_source_only
launchers=()
if command -v ccache >/dev/null; then
  launchers=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
jobs=${JOBS:-$(nproc)}
mkdir -p "$out"
out=$(realpath "$out")
rm -f "$out"/secret-rotator-"$version"-* "$out/SHA256SUMS"

for arch in x86_64 arm64; do
  build="build-release/$arch"
  toolchain=()
  [ "$arch" = x86_64 ] || toolchain=(--toolchain cmake/aarch64-linux-gnu.cmake)
  echo "== $arch: building bootstrap in $build"
  cmake -S . -B "$build" ${toolchain[@]+"${toolchain[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DSECRET_ROTATOR_TESTS=OFF ${launchers[@]+"${launchers[@]}"} >/dev/null
  cmake --build "$build" -j"$jobs" --target bootstrap
  zip="$out/secret-rotator-$version-$arch.zip"
  # Its report names the binary's architecture; read whole (a reader that
  # stopped early would leave package.sh writing into $out behind it).
  report=$(packaging/package.sh --binary "$build/bootstrap" --output "$zip" \
    ${ca_bundle:+--db-ca-bundle "$ca_bundle"})
  echo "$report"
  grep -q "; $arch)" <<<"$report" || {
    echo "release.sh: $build/bootstrap is not an $arch binary" >&2
    exit 1
  }
done

echo "== release template"
packaging/release-template.sh "$version" ${template_args[@]+"${template_args[@]}"} \
  >"$out/secret-rotator-$version-template.yaml"
cp README.md "$out/README.md"
[ -z "$license_file" ] || cp "$license_file" "$out/$(basename "$license_file")"

(cd "$out" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort |
  xargs sha256sum >SHA256SUMS)
echo "== $out"
(cd "$out" && ls -l && cat SHA256SUMS)
