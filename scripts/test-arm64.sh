#!/usr/bin/env bash
# Tests the arm64 (AWS Graviton) build on this x86_64 Debian 12 machine:
# cross-compiles bootstrap and the unit tests (cmake/aarch64-linux-gnu.cmake,
# in build-arm64), runs the unit tests under qemu-user, then runs the package
# tests on the arm64 package (bootstrap unpacked from its zip and run under
# qemu-user against private MariaDB and PostgreSQL servers: arm64.*) from the
# native build (build). Extra arguments go to both ctest runs (for example
# --output-on-failure). ./test.sh with -DSECRET_ROTATOR_ARM64_BOOTSTRAP set
# (CI) runs the same package tests; this script adds the unit tests.
#
# Environment: ARM64_BUILD_DIR (default build-arm64), BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
scripts/install-deps.sh --arm64
arm64_dir=${ARM64_BUILD_DIR:-build-arm64}
build_dir=${BUILD_DIR:-build}
jobs=$(nproc)

echo "== arm64: cross-compiling bootstrap and the unit tests ($arm64_dir)"
cmake -S . -B "$arm64_dir" --toolchain cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSECRET_ROTATOR_TESTS=ON >/dev/null
cmake --build "$arm64_dir" -j"$jobs" --target bootstrap unit_tests

echo "== arm64: unit tests under qemu-user"
status=0
(cd "$arm64_dir" && ctest -j"$jobs" --timeout 300 -L unit "$@") || status=1

echo "== arm64: package tests (arm64.*) under qemu-user"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSECRET_ROTATOR_ARM64_BOOTSTRAP="$arm64_dir/bootstrap" >/dev/null
cmake --build "$build_dir" -j"$jobs" --target package_test
(cd "$build_dir" && ctest -j"$jobs" -R '^arm64\.' "$@") || status=1
exit "$status"
