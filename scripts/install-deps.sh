#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need;
# only the missing ones, so a second run does nothing. Extra package names
# given as arguments are installed too.
#
# mariadb-server and postgresql are server packages, installed only for their
# binaries: the tests and the demo run private servers on 127.0.0.1. Debian
# starts and enables their system services on installation; when this script
# installed them, it stops and disables those services again.
set -euo pipefail

packages=(
  g++ make cmake pkg-config git
  libssl-dev nlohmann-json3-dev rapidjson-dev libgtest-dev libgmock-dev
  libmariadb-dev libpq-dev postgresql-server-dev-15
  mariadb-server postgresql
  python3 awscli openssl ca-certificates zip unzip
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# npm runs the template linter; Debian's package unless an npm is already there.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/secret-rotator-apt.log 2>&1; then
  "${sudo[@]}" apt-get update -q >>/tmp/secret-rotator-apt.log 2>&1
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/secret-rotator-apt.log 2>&1 || {
    tail -n 30 /tmp/secret-rotator-apt.log >&2
    exit 1
  }
fi

# The server packages' system services (see the top of this file). Only
# services whose package this run installed; a second run installs nothing.
services=()
for package in "${missing[@]}"; do
  case "$package" in
    mariadb-server) services+=(mariadb) ;;
    postgresql) services+=(postgresql) ;;
  esac
done
if [ ${#services[@]} -gt 0 ]; then
  echo "Installed the MariaDB/PostgreSQL server packages for their binaries only;" \
    "stopping and disabling their system services: ${services[*]}" >&2
  stop_and_disable() {
    if [ -d /run/systemd/system ]; then
      "${sudo[@]}" systemctl disable --now "$1"
    else
      "${sudo[@]}" service "$1" stop && "${sudo[@]}" update-rc.d "$1" disable
    fi
  }
  for service in "${services[@]}"; do
    stop_and_disable "$service" >>/tmp/secret-rotator-apt.log 2>&1 ||
      echo "warning: could not stop and disable the $service service (/tmp/secret-rotator-apt.log)" >&2
  done
fi
