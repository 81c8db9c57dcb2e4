#!/usr/bin/env bash
# Builds secret-rotator and runs every test: unit tests, the local AWS test
# bed's own tests (with the real AWS CLI), and the integration tests, which
# start private MariaDB and PostgreSQL servers on 127.0.0.1 and stop them, and
# the adversarial suites (tests/README.md), whose leak scan also reads CTest's log.
# Extra arguments go to ctest (for example: ./test.sh -L unit).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
source_dir=$PWD
cd "$build_dir"
status=0
ctest --output-on-failure -j"$(nproc)" "$@" || status=$?
# CTest writes its own log (Testing/Temporary/LastTest.log) only when it ends, after the leak
# scan inside the run: search it now for the same passwords.
if [ -d test-output/secret-values ]; then
  python3 "$source_dir/tests/adversarial/leak_scan.py" --output-dir test-output \
    --ctest-dir Testing/Temporary --ctest-logs-only || status=1
fi
exit "$status"
