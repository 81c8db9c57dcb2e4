# shellcheck shell=bash
# What tests/servers/mariadb.sh and postgres.sh share; sourced by them, not run.
# The sourcing script sets -euo pipefail, defines start DIR TLSDIR and stop DIR,
# and ends with `main "$@"`.

script=$(basename "$0")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script here

die() {
  echo "$script: $*" >&2
  exit 1
}

usage() {
  echo "usage: $script start DIR TLSDIR | $script stop DIR" >&2
  exit 2
}

# Prints the absolute path of DIR, creating it first.
absolute_dir() {
  mkdir -p "$1" && (cd "$1" && pwd)
}

# Makes the test certificates in TLSDIR (tests/servers/make_tls.sh) and prints
# its absolute path.
make_tls() {
  bash "$here/make_tls.sh" "$1" >&2 && (cd "$1" && pwd)
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# A random password for the server's admin user.
new_password() {
  python3 -c 'import secrets; print(secrets.token_urlsafe(24))'
}

# Shows the last lines of the log file LOG, if there is one, on stderr.
log_tail() {
  local log=$1
  if [ -f "$log" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 25 "$log" >&2
  fi
}

# Writes stdin (KEY=VALUE lines) to DIR/server.env, readable by the owner
# only; the file appears whole or not at all.
write_server_env() {
  local dir=$1
  local env_tmp="$dir/server.env.tmp"
  (
    umask 077
    cat >"$env_tmp"
  )
  mv "$env_tmp" "$dir/server.env"
}

# Checks the arguments and runs start or stop.
main() {
  case "${1:-}" in
    start)
      [ $# -eq 3 ] || usage
      start "$2" "$3"
      ;;
    stop)
      [ $# -eq 2 ] || usage
      stop "$2"
      ;;
    *) usage ;;
  esac
}
