#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need;
# only the missing ones, so a second run does nothing. Extra package names
# given as arguments are installed too; --arm64 adds what the arm64 cross
# build and its tests under qemu-user need (cmake/aarch64-linux-gnu.cmake):
# Debian's cross compiler, arm64's multiarch libraries (after
# `dpkg --add-architecture arm64`) and qemu-user-static. Only Multi-Arch
# "same" packages, which install beside the machine's own: libmariadb-dev is
# not, and scripts/target-dev-packages.sh unpacks it instead. Also makes
# `apt-get source curl` and `apt-get source postgresql-15` work
# (scripts/build-curl.sh and scripts/build-libpq.sh build the function's
# libcurl and libpq from Debian's source packages): when no deb-src line
# serves them, adds deb-src lines for the same Debian mirrors as the existing
# deb lines, and runs apt-get update.
#
# mariadb-server and postgresql are server packages, installed only for their
# binaries: the tests and the demo run private servers on 127.0.0.1. Debian
# starts and enables their system services on installation; when this script
# installed them, it stops and disables those services again.
set -euo pipefail

arm64=0
extra=()
for argument in "$@"; do
  if [ "$argument" = "--arm64" ]; then arm64=1; else extra+=("$argument"); fi
done
arm64_packages=(
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static
  libc6-dev:arm64 libssl-dev:arm64 libexpat1-dev:arm64 libmariadb3:arm64 zlib1g:arm64
  libgtest-dev:arm64 libgmock-dev:arm64
)

packages=(
  g++ make cmake pkg-config git
  libssl-dev libexpat1-dev nlohmann-json3-dev rapidjson-dev libgtest-dev libgmock-dev
  libmariadb-dev
  mariadb-server postgresql
  python3 python3-yaml awscli openssl ca-certificates zip unzip
  dpkg-dev gcc
  ${extra[@]+"${extra[@]}"}
)
[ $arm64 -eq 0 ] || packages+=("${arm64_packages[@]}")

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# npm runs the template linter; Debian's package unless an npm is already there.
command -v npm >/dev/null 2>&1 || missing+=(npm)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive

# Prints deb-src entries for the Debian archive mirrors that the deb entries
# of the apt sources name (deb822 .sources files and one-line .list files).
deb_src_entries() {
  local debian_uri='https?://[^ ]*/debian(-security)?/?'
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk -v uri="^URIs:[ \t]+$debian_uri\$" 'BEGIN { RS = ""; ORS = "\n\n" }
      {
        n = split($0, lines, "\n"); deb = 0; debian = 0; out = ""
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^#/) continue
          if (lines[i] ~ /^Types:/) { if (lines[i] ~ /[ \t]deb([ \t]|$)/) deb = 1; lines[i] = "Types: deb-src" }
          if (lines[i] ~ uri) debian = 1
          out = out lines[i] "\n"
        }
        if (deb && debian) printf "%s\n", out
      }' "$file"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -E "^deb[ \t]+(\[[^]]*\][ \t]+)?$debian_uri[ \t]" | sed 's/^deb/deb-src/' || true
}

ensure_deb_src() {
  (cd /tmp && apt-get source --print-uris curl >/dev/null 2>&1) && return 0
  local entries
  entries=$(deb_src_entries)
  if [ -z "$entries" ]; then
    echo "install-deps.sh: no Debian mirror found in the apt sources to add a deb-src line for;" \
      "add one so that 'apt-get source curl' and 'apt-get source postgresql-15' work" >&2
    exit 1
  fi
  echo "Adding deb-src entries for the Debian mirrors (for apt-get source curl and postgresql-15)" >&2
  if printf '%s\n' "$entries" | grep -q '^Types:'; then
    printf '%s\n' "$entries" | "${sudo[@]}" tee /etc/apt/sources.list.d/secret-rotator-deb-src.sources >/dev/null
  else
    printf '%s\n' "$entries" | "${sudo[@]}" tee /etc/apt/sources.list.d/secret-rotator-deb-src.list >/dev/null
  fi
  "${sudo[@]}" apt-get update -q >>/tmp/secret-rotator-apt.log 2>&1 || {
    tail -n 30 /tmp/secret-rotator-apt.log >&2
    exit 1
  }
}

if [ ${#missing[@]} -eq 0 ]; then
  ensure_deb_src
  exit 0
fi

if [ $arm64 -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "Adding the arm64 architecture to dpkg (for the cross build's libraries)" >&2
  "${sudo[@]}" dpkg --add-architecture arm64
  "${sudo[@]}" apt-get update -q >>/tmp/secret-rotator-apt.log 2>&1 || {
    tail -n 30 /tmp/secret-rotator-apt.log >&2
    exit 1
  }
fi

echo "Installing: ${missing[*]}" >&2
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

ensure_deb_src
