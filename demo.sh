#!/usr/bin/env bash
# The local demo: on a fresh Debian 12 machine, installs what is missing,
# builds bootstrap (build/), packages it as the Lambda zip and runs the
# unpacked package under a local Lambda service; starts MariaDB, PostgreSQL
# and a local Secrets Manager endpoint on 127.0.0.1 in a temporary folder;
# creates users and secrets with the AWS CLI; for one secret per engine and
# strategy runs `bootstrap check`, rotates it with `aws secretsmanager
# rotate-secret` and runs `bootstrap status`, showing the logins, the staging
# labels and the time of each step. It prints no password
# and removes everything it started when it ends (also on Ctrl-C).
#
# Usage: ./demo.sh [--keep]     --keep: leave the temporary folder (logs) behind
# Exit status 0 iff every rotation and check passed. The logic is local/demo.py.
set -euo pipefail
cd "$(dirname "$0")"

keep=()
case "${1:-}" in
  "") ;;
  --keep) keep=(--keep) ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

echo "==> Installing missing Debian packages (scripts/install-deps.sh)"
scripts/install-deps.sh

build_log=$(mktemp /tmp/secret-rotator-build.XXXXXX.log)
echo "==> Building bootstrap in build/ (a few minutes the first time)"
# The build's own progress lines ("[ 42%] Building CXX object ...") show that
# it is moving; everything else goes to the log only.
if ! { cmake -S . -B build && cmake --build build --target bootstrap -j"$(nproc)"; } 2>&1 |
    tee "$build_log" | awk '/^\[ *[0-9]+%\]/ { print "    " $0; fflush() }'; then
  tail -n 40 "$build_log" >&2
  echo "demo.sh: the build failed (full log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"

work_dir=$(mktemp -d /tmp/secret-rotator-demo.XXXXXX)
# local/demo.py stops what it starts; this is the safety net if it is killed.
cleanup() {
  python3 local/stack.py cleanup "$work_dir" || true
  [ ${#keep[@]} -gt 0 ] || rm -rf "$work_dir"
}
trap cleanup EXIT

# In the background so that a signal reaches this shell's traps at once; they
# pass it on as SIGTERM, on which demo.py stops its servers and exits.
python3 local/demo.py --bootstrap build/bootstrap --work-dir "$work_dir" "${keep[@]}" &
demo_pid=$!
stop_demo() {
  kill -TERM "$demo_pid" 2>/dev/null || true
  wait "$demo_pid" || true
  exit 130
}
trap stop_demo INT TERM
wait "$demo_pid"
