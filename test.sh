#!/usr/bin/env bash
# Builds secret-rotator and runs every test: unit tests, the local AWS test
# bed's own tests (with the real AWS CLI), and the integration tests, which
# start private MariaDB and PostgreSQL servers on 127.0.0.1 and stop them.
# Extra arguments go to ctest (for example: ./test.sh -L unit).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" "$@"
