#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need;
# only the missing ones, so a second run does nothing. Extra package names
# given as arguments are installed too.
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
