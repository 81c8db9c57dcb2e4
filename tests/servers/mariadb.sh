#!/usr/bin/env bash
# A private MariaDB server for the integration tests: TCP on 127.0.0.1 only,
# TLS on, its own data directory, socket, pid file and logs in DIR. It never
# reads /etc/mysql and never touches /var/lib/mysql or a system service.
#
#   mariadb.sh start DIR TLSDIR   start (idempotent: exit 0 when already running)
#   mariadb.sh stop DIR           stop (exit 0 when not running)
#
# start writes DIR/server.env (shell KEY=VALUE lines) for the tests:
#   MARIADB_HOST MARIADB_PORT MARIADB_SOCKET MARIADB_ADMIN_USER MARIADB_ADMIN_PASSWORD
#   MARIADB_CA MARIADB_OTHER_CA MARIADB_TLS_DIR MARIADB_DIR MARIADB_GENERAL_LOG
# The admin user (rotator_admin@'%' and @'localhost') has ALL PRIVILEGES WITH
# GRANT OPTION. The general query log is on (DIR/general.log) so that tests can
# see which connections reached the server and whether they used TLS.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly start_timeout_s=120
readonly stop_timeout_s=60

# Prints the pid of the server whose pid file is in DIR when it is alive.
running_pid() {
  local dir=$1 pid
  [ -s "$dir/mariadbd.pid" ] || return 1
  pid=$(cat "$dir/mariadbd.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# The Unix socket path must fit in sun_path (108 bytes); a deep build tree may
# not, so the socket then lives in a short directory of its own.
socket_path() {
  local dir=$1
  local path="$dir/mariadbd.sock"
  if [ "${#path}" -gt 100 ]; then
    local short
    short=$(mktemp -d /tmp/mariadb-sock.XXXXXX)
    path="$short/mariadbd.sock"
  fi
  echo "$path"
}

start() {
  local dir tls
  dir=$(absolute_dir "$1")
  if running_pid "$dir" >/dev/null; then
    if [ -s "$dir/server.env" ]; then
      echo "mariadb.sh: already running (pid $(running_pid "$dir")) in $dir"
      exit 0
    fi
    # Half started by an earlier run that failed: start afresh.
    terminate "$(running_pid "$dir")"
  fi
  tls=$(make_tls "$2")

  local user_args=() socket_user
  socket_user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    user_args=(--user=root)
  fi

  # A stale data directory from a crashed run is rebuilt from scratch; the
  # general log starts empty, so that the leak scan reads only this run.
  rm -rf "$dir/data" "$dir/server.env" "$dir/mariadbd.pid" "$dir/general.log"
  mkdir -p "$dir/data" "$dir/tmp"
  # Its own tmpdir: with the shared /tmp, a concurrent install elsewhere on the machine made
  # bootstrap fail ("Could not remove temporary table '/tmp/#sql-temptable-...'").
  if ! mariadb-install-db --no-defaults "${user_args[@]}" --datadir="$dir/data" \
      --tmpdir="$dir/tmp" --auth-root-authentication-method=socket --auth-root-socket-user="$socket_user" \
      --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1; then
    tail -n 25 "$dir/install.log" >&2
    die "mariadb-install-db failed (full log: $dir/install.log)"
  fi

  local port socket
  port=$(free_port)
  socket=$(socket_path "$dir")
  : >"$dir/error.log"
  # --skip-name-resolve: accounts match by IP (127.0.0.1) and no DNS lookup
  # slows a connection down.
  mariadbd --no-defaults "${user_args[@]}" \
    --datadir="$dir/data" --tmpdir="$dir/tmp" \
    --socket="$socket" --pid-file="$dir/mariadbd.pid" --log-error="$dir/error.log" \
    --bind-address=127.0.0.1 --port="$port" --skip-name-resolve \
    --ssl-ca="$tls/ca.pem" --ssl-cert="$tls/server.pem" --ssl-key="$tls/server.key" \
    --general-log=1 --general-log-file="$dir/general.log" \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
    --max-connections=200 --skip-log-bin \
    </dev/null >>"$dir/error.log" 2>&1 &
  local launched=$!

  # mariadb-install-db gave the OS user running this script a unix_socket
  # account (root@localhost when that is root).
  local root=(mariadb --no-defaults --protocol=socket --socket="$socket" -u"$socket_user")
  local waited=0
  until "${root[@]}" -e 'SELECT 1' >/dev/null 2>&1; do
    if ! kill -0 "$launched" 2>/dev/null; then
      log_tail "$dir/error.log"
      die "mariadbd exited during start-up"
    fi
    if [ "$waited" -ge $((start_timeout_s * 10)) ]; then
      log_tail "$dir/error.log"
      terminate "$launched"
      die "mariadbd did not accept connections within ${start_timeout_s} s"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done

  local password
  password=$(new_password)
  # sql_log_off keeps the password out of the general log.
  "${root[@]}" <<SQL
SET SESSION sql_log_off = 1;
CREATE USER 'rotator_admin'@'%' IDENTIFIED BY '$password';
CREATE USER 'rotator_admin'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'rotator_admin'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'rotator_admin'@'localhost' WITH GRANT OPTION;
SQL

  write_server_env "$dir" <<ENV
MARIADB_HOST=127.0.0.1
MARIADB_PORT=$port
MARIADB_SOCKET=$socket
MARIADB_ADMIN_USER=rotator_admin
MARIADB_ADMIN_PASSWORD=$password
MARIADB_CA=$tls/ca.pem
MARIADB_OTHER_CA=$tls/other-ca.pem
MARIADB_TLS_DIR=$tls
MARIADB_DIR=$dir
MARIADB_GENERAL_LOG=$dir/general.log
ENV
  echo "mariadb.sh: MariaDB $("${root[@]}" -N -e 'SELECT VERSION()') listening on 127.0.0.1:$port (pid $(running_pid "$dir"), dir $dir)"
}

# Stops the server process PID (a clean shutdown on SIGTERM) and waits for it.
terminate() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((stop_timeout_s * 10)) ]; then
      echo "mariadb.sh: mariadbd (pid $pid) did not stop within ${stop_timeout_s} s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop() {
  local dir=$1 pid
  if ! pid=$(running_pid "$dir"); then
    echo "mariadb.sh: not running in $dir"
    rm -f "$dir/server.env"
    exit 0
  fi
  terminate "$pid"
  rm -f "$dir/server.env" "$dir/mariadbd.pid"
  echo "mariadb.sh: stopped (pid $pid)"
}

main "$@"
