#!/usr/bin/env bash
# Unpacks another architecture's development files of the MariaDB client
# for a cross build (cmake/aarch64-linux-gnu.cmake): Debian's libmariadb-dev
# for ARCH (headers, pkg-config file). libpq needs none: it is built from
# source for each architecture (scripts/build-libpq.sh).
#
# Why not `apt-get install libmariadb-dev:arm64`: that package is not
# Multi-Arch "same", so installing the arm64 one REMOVES the machine's own
# (amd64) one, and the native build breaks. Its runtime library
# (libmariadb3:ARCH) is Multi-Arch "same" and is installed with apt
# (scripts/install-deps.sh --arm64); this script only fetches the -dev
# package with `apt-get download` and unpacks it with dpkg-deb into
#   CACHE/dev-ARCH-<hash of the package versions>/usr/...
# with the pkg-config files' prefix pointed there and the library's .so
# link pointed at the installed runtime library. A new Debian version (a
# security update) is unpacked anew. Prints that folder on the last line.
#
# Usage: scripts/target-dev-packages.sh --cache DIR [--arch arm64]
set -euo pipefail

cache="" arch=arm64
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "target-dev-packages.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$cache" ] || { echo "target-dev-packages.sh: --cache is required" >&2; exit 2; }
case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  *) echo "target-dev-packages.sh: unsupported architecture '$arch' (arm64)" >&2; exit 2 ;;
esac
packages=(libmariadb-dev)

# The versions apt would fetch now.
specs=()
for package in "${packages[@]}"; do
  version=$(apt-cache policy "$package:$arch" 2>/dev/null | awk '$1 == "Candidate:" {print $2}')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    specs=()
    break
  fi
  specs+=("$package:$arch=$version")
done
if [ ${#specs[@]} -eq 0 ]; then
  found=$(find "$cache" -maxdepth 1 -name "dev-$arch-*" -type d 2>/dev/null | sort | tail -n 1 || true)
  if [ -n "$found" ]; then
    echo "target-dev-packages.sh: apt knows no $arch packages; using the cached $found" >&2
    echo "$found"
    exit 0
  fi
  echo "target-dev-packages.sh: apt knows no $arch packages: run 'dpkg --add-architecture $arch'" \
    "and 'apt-get update' (scripts/install-deps.sh --arm64 does)" >&2
  exit 1
fi
target="$cache/dev-$arch-$(printf '%s\n' "${specs[@]}" | md5sum | cut -c1-8)"
if [ -d "$target/usr" ]; then
  echo "$target"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-dev-$arch"
flock 9
if [ -d "$target/usr" ]; then
  echo "$target"
  exit 0
fi
work=$(mktemp -d "$cache/.dev.XXXXXX")
trap 'rm -rf "$work"' EXIT
# As root, apt hands the download to its _apt user, who cannot write a private folder.
chmod 755 "$work"
(cd "$work" && apt-get download -q "${specs[@]}" >&2)
mkdir -p "$work/root"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
# Only what a build reads: headers, libraries, pkg-config files.
rm -rf "$work/root/usr/bin" "$work/root/usr/share"
libdir="$work/root/usr/lib/$triplet"
sed -i "s|^prefix=/usr\$|prefix=$target/usr|" "$libdir"/pkgconfig/*.pc
for link in "$libdir"/*.so; do
  [ -L "$link" ] || continue
  runtime="/usr/lib/$triplet/$(readlink "$link")"
  [ -f "$runtime" ] || {
    echo "target-dev-packages.sh: $runtime is not installed (its runtime package for $arch)" >&2
    exit 1
  }
  ln -sfn "$runtime" "$link"
done
printf '%s\n' "${specs[@]}" >"$work/root/VERSIONS"
mv "$work/root" "$target"
echo "$target"
