#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the integration tests: TCP on 127.0.0.1
# only, TLS on, scram-sha-256 passwords required on every TCP connection (but
# for members of the role gssapi_users, who are asked for GSSAPI instead), its
# own data directory, Unix socket and log in DIR. It never uses pg_ctlcluster,
# the Debian service or the system cluster's files.
#
#   postgres.sh start DIR TLSDIR   start (idempotent: exit 0 when already running)
#   postgres.sh stop DIR           stop (exit 0 when not running)
#
# start writes DIR/server.env (shell KEY=VALUE lines) for the tests:
#   PG_HOST PG_PORT PG_ADMIN_USER PG_ADMIN_PASSWORD PG_CA PG_OTHER_CA PG_LOG PG_DIR
# PG_ADMIN_USER (rotator_admin) is the cluster's bootstrap superuser.
# log_statement = 'all' and log_connections = on, logged to PG_LOG, so that
# tests can check which statements and connections reached the server.
#
# PostgreSQL refuses to run as root: when started by root, the cluster runs as
# the "postgres" system user (DIR is chowned to it and its parent directories
# are made traversable); otherwise as the current user.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly bin=/usr/lib/postgresql/15/bin
readonly start_timeout_s=120
readonly stop_timeout_s=60

# Runs a command as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Returns 0 iff a server runs on the data directory DIR/data.
is_running() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 1
  as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

# A value for a single-quoted postgresql.conf string.
conf_quote() {
  printf "'%s'" "${1//\'/\'\'}"
}

# Root: let the postgres user reach DIR through every parent directory (the
# execute bit only; nothing becomes readable or writable).
make_reachable() {
  local dir=$1 parent
  parent=$(dirname "$dir")
  while [ "$parent" != "/" ]; do
    if ! runuser -u postgres -- test -x "$parent"; then
      echo "postgres.sh: adding o+x to $parent so that the postgres user can reach $dir" >&2
      chmod o+x "$parent"
    fi
    parent=$(dirname "$parent")
  done
}

start() {
  local dir tls
  dir=$(absolute_dir "$1")
  if is_running "$dir" && [ -s "$dir/server.env" ]; then
    echo "postgres.sh: already running in $dir"
    exit 0
  fi
  [ -x "$bin/initdb" ] || die "$bin/initdb not found; install the postgresql-15 package"
  tls=$(make_tls "$2")

  # A stopped or half-built cluster from an earlier run is rebuilt from scratch.
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t "$stop_timeout_s" \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$dir/data" "$dir/tls" "$dir/server.env" "$dir/postgres.log" "$dir/initdb.log" \
    "$dir"/.s.PGSQL.*
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user"
    chown postgres: "$dir"
    make_reachable "$dir"
  fi
  cd "$dir"  # initdb and pg_ctl complain about a working directory they cannot read

  # The server's own copies of the certificate and key: the key must be owned
  # by the server's user and not readable by others.
  as_owner mkdir -m 700 "$dir/tls"
  local owner_args=()
  if [ "$(id -u)" -eq 0 ]; then
    owner_args=(-o postgres -g postgres)
  fi
  install -m 644 "${owner_args[@]}" "$tls/server.pem" "$dir/tls/server.pem"
  install -m 600 "${owner_args[@]}" "$tls/server.key" "$dir/tls/server.key"

  local password
  password=$(new_password)
  local pwfile="$dir/tls/admin.pw"
  printf '%s\n' "$password" | as_owner tee "$pwfile" >/dev/null
  if ! as_owner "$bin/initdb" -D "$dir/data" -U rotator_admin --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1; then
    as_owner rm -f "$pwfile"
    tail -n 25 "$dir/initdb.log" >&2
    die "initdb failed (full log: $dir/initdb.log)"
  fi
  as_owner rm -f "$pwfile"

  # The Unix socket path must fit in sun_path (108 bytes); a deep build tree
  # may not, and the tests only use TCP, so the socket is then left out.
  local socket_dir=$dir
  if [ "$((${#dir} + 20))" -gt 100 ]; then
    socket_dir=""
  fi

  local port
  port=$(free_port)
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF

# --- secret-rotator test cluster (tests/servers/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = $(conf_quote "$socket_dir")
ssl = on
ssl_cert_file = $(conf_quote "$dir/tls/server.pem")
ssl_key_file = $(conf_quote "$dir/tls/server.key")
password_encryption = 'scram-sha-256'
logging_collector = off
log_statement = 'all'
log_connections = on
log_line_prefix = '%m [%p] '
max_connections = 100
fsync = off
shared_buffers = 32MB
CONF
  # Every TCP connection needs a scram-sha-256 password, with or without TLS;
  # but members of the role gssapi_users (which a test creates) are asked for
  # GSSAPI (Kerberos) authentication, which the function's libpq, built
  # without GSSAPI, must refuse
  # (PostgresStrategyTest.ServerAskingForGssapiIsRefused).
  as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<'HBA'
# TYPE  DATABASE  USER           ADDRESS       METHOD
local   all       all                          trust
hostssl all       +gssapi_users  127.0.0.1/32  gss
host    all       +gssapi_users  127.0.0.1/32  gss
hostssl all       all            127.0.0.1/32  scram-sha-256
host    all       all            127.0.0.1/32  scram-sha-256
HBA

  as_owner touch "$dir/postgres.log"
  if ! as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w \
      -t "$start_timeout_s" >/dev/null 2>&1; then
    log_tail "$dir/postgres.log"
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true
    die "the server did not start within ${start_timeout_s} s"
  fi

  # The tests' own path: TCP, verified TLS, a scram-sha-256 password.
  local version
  if ! version=$(PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$bin/psql" -X -A -t -w \
      "host=127.0.0.1 port=$port user=rotator_admin dbname=postgres sslmode=verify-full sslrootcert=$tls/ca.pem" \
      -c 'SHOW server_version' 2>&1); then
    echo "$version" >&2
    log_tail "$dir/postgres.log"
    die "the server runs but a TLS login as rotator_admin on 127.0.0.1:$port failed"
  fi

  write_server_env "$dir" <<ENV
PG_HOST=127.0.0.1
PG_PORT=$port
PG_ADMIN_USER=rotator_admin
PG_ADMIN_PASSWORD=$password
PG_CA=$tls/ca.pem
PG_OTHER_CA=$tls/other-ca.pem
PG_LOG=$dir/postgres.log
PG_DIR=$dir
ENV
  echo "postgres.sh: PostgreSQL $version listening on 127.0.0.1:$port (dir $dir)"
}

stop() {
  local dir=$1
  if [ ! -d "$dir" ]; then
    echo "postgres.sh: not running in $dir"
    exit 0
  fi
  dir=$(cd "$dir" && pwd)
  cd "$dir"
  if ! is_running "$dir"; then
    echo "postgres.sh: not running in $dir"
    rm -f "$dir/server.env"
    exit 0
  fi
  if ! as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t "$stop_timeout_s" >/dev/null; then
    echo "postgres.sh: the server did not stop within ${stop_timeout_s} s; stopping it immediately" >&2
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t "$stop_timeout_s" >/dev/null ||
      die "could not stop the server in $dir"
  fi
  rm -f "$dir/server.env"
  echo "postgres.sh: stopped (dir $dir)"
}

main "$@"
