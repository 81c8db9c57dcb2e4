#!/usr/bin/env bash
# Builds the Lambda deployment package (runtime provided.al2023) from a built
# bootstrap:
#   bootstrap            the binary itself, stripped (no wrapper script)
#   lib/                 every shared library it needs that glibc does not
#                        provide, found from its real dependencies (ldd, or for an
#                        arm64 binary built on x86_64 the same search with readelf)
#   lib/mariadb/plugin/  the MariaDB client's authentication plugins, which it
#                        loads at run time (caching_sha2_password for MySQL 8,
#                        client_ed25519, ...), when bootstrap uses that client
#   db-ca-bundle.pem     the database CA bundle, which the function uses when
#                        DB_TLS_CA_FILE is unset: by default Amazon RDS's global
#                        bundle plus the Amazon roots of RDS Proxy
#                        (packaging/db-ca-bundle.sh, checked against its committed
#                        SHA-256); --db-ca-bundle FILE ships FILE instead
# Fails unless every glibc symbol version that bootstrap and lib/ require is
# at most GLIBC_2.34 (Amazon Linux 2023's glibc), and prints the ceiling.
#
# Usage: packaging/package.sh --binary build/bootstrap --output build/secret-rotator.zip
#            [--db-ca-bundle FILE] [--unpacked-dir DIR]
# The separate debug file is written next to the zip (<zip>.debug);
# --unpacked-dir also copies the package's files into DIR (sam build).
set -euo pipefail

readonly glibc_ceiling="2.34"
readonly size_target=$((5 * 1024 * 1024))

binary="" output="" ca_bundle="" unpacked=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --db-ca-bundle) ca_bundle=$2; shift 2 ;;
    --unpacked-dir) unpacked=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$binary" ] && [ -n "$output" ] || { echo "package.sh: --binary and --output are required" >&2; exit 2; }
[ -x "$binary" ] || { echo "package.sh: $binary is not an executable" >&2; exit 2; }
[ -z "$ca_bundle" ] || [ -r "$ca_bundle" ] || { echo "package.sh: cannot read $ca_bundle" >&2; exit 2; }
# The binary's architecture: this machine's own, or arm64 cross-compiled on
# x86_64 (cmake/aarch64-linux-gnu.cmake), which the target's binutils handle.
command -v readelf >/dev/null || { echo "package.sh: readelf is needed (binutils)" >&2; exit 2; }
machine=$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')
case "$machine" in
  *X86-64) arch=x86_64 triplet=x86_64-linux-gnu ;;
  AArch64) arch=arm64 triplet=aarch64-linux-gnu ;;
  *) echo "package.sh: $binary is for '$machine'; Lambda runs x86_64 and arm64" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64) native=x86_64 ;;
  aarch64) native=arm64 ;;
  *) native="" ;;
esac
tools_prefix=""
[ "$arch" = "$native" ] || tools_prefix="$triplet-"
objcopy="${tools_prefix}objcopy" objdump="${tools_prefix}objdump" strip="${tools_prefix}strip"
for tool in "$objcopy" "$objdump" "$strip" zip; do
  command -v "$tool" >/dev/null || {
    echo "package.sh: $tool is needed (binutils${tools_prefix:+-${triplet}}, zip)" >&2
    exit 2
  }
done
[ -n "$tools_prefix" ] || command -v ldd >/dev/null || { echo "package.sh: ldd is needed" >&2; exit 2; }

# dependencies FILE: "name path" for every shared library FILE needs, directly
# or not ("name" alone when not found). Natively ldd, which asks the dynamic
# loader; for the other architecture the same search by hand: each DT_NEEDED
# in that architecture's multiarch folders, where Debian installs its libraries.
dependencies() {
  if [ -z "$tools_prefix" ]; then
    ldd "$1" | awk '$2 == "=>" { print $1, ($3 ~ /^\// ? $3 : "") }'
    return
  fi
  local queue=("$1") seen=" " file name dir found
  while [ ${#queue[@]} -gt 0 ]; do
    file=${queue[0]}
    queue=("${queue[@]:1}")
    for name in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case "$seen" in *" $name "*) continue ;; esac
      seen="$seen$name "
      found=""
      for dir in "/lib/$triplet" "/usr/lib/$triplet"; do
        if [ -f "$dir/$name" ]; then found="$dir/$name"; break; fi
      done
      echo "$name $found"
      [ -z "$found" ] || queue+=("$found")
    done
  done
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/package"
mkdir -p "$stage/lib"

# The binary: debug information apart, the rest stripped.
cp "$binary" "$stage/bootstrap"
"$objcopy" --only-keep-debug "$stage/bootstrap" "$work/bootstrap.debug"
"$strip" --strip-all "$stage/bootstrap"
"$objcopy" --add-gnu-debuglink="$work/bootstrap.debug" "$stage/bootstrap"
chmod 755 "$stage/bootstrap"

# Libraries glibc provides on Amazon Linux 2023; everything else is bundled.
is_glibc() {
  case "$1" in
    ld-linux*.so*|libc.so*|libm.so*|libmvec.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|\
    libutil.so*|libanl.so*|libnsl.so*|libBrokenLocale.so*|libnss_*.so*|libthread_db.so*|libc_malloc_debug.so*)
      return 0 ;;
  esac
  return 1
}
while read -r name path; do
  is_glibc "$name" && continue
  [ -n "$path" ] && [ -f "$path" ] || { echo "package.sh: $binary needs $name, which is not found" >&2; exit 1; }
  cp -L "$path" "$stage/lib/$name"
  "$strip" --strip-unneeded "$stage/lib/$name"
  chmod 644 "$stage/lib/$name"
done < <(dependencies "$binary")

# The MariaDB client loads its authentication plugins with dlopen; the
# function points it at lib/mariadb/plugin (app/config.h).
mariadb=$(dependencies "$binary" | awk '$1 ~ /^libmariadb\.so/ {print $2}')
if [ -n "$mariadb" ] && [ -d "$(dirname "$mariadb")/libmariadb3/plugin" ]; then
  mkdir -p "$stage/lib/mariadb/plugin"
  for plugin in "$(dirname "$mariadb")"/libmariadb3/plugin/*.so; do
    missing=$(dependencies "$plugin" | awk '{print $1}' | while read -r needed; do
      is_glibc "$needed" || [ -f "$stage/lib/$needed" ] || echo "$needed"; done)
    if [ -n "$missing" ]; then
      echo "skipping MySQL client plugin $(basename "$plugin"): it needs $missing"
      continue
    fi
    cp -L "$plugin" "$stage/lib/mariadb/plugin/"
    "$strip" --strip-unneeded "$stage/lib/mariadb/plugin/$(basename "$plugin")"
  done
fi
shared_objects() { find "$stage/bootstrap" "$stage/lib" -type f; }

# Every file must stay within Amazon Linux 2023's glibc.
ceiling=$(for file in $(shared_objects); do
  "$objdump" -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*' || true
done | sed 's/GLIBC_//' | sort -uV | tail -n 1)
newest_allowed=$(printf '%s\n%s\n' "$ceiling" "$glibc_ceiling" | sort -V | tail -n 1)
if [ "$newest_allowed" != "$glibc_ceiling" ]; then
  echo "package.sh: glibc symbol versions go up to GLIBC_$ceiling; Amazon Linux 2023 has $glibc_ceiling:" >&2
  for file in $(shared_objects); do
    "$objdump" -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*.*' | awk -v f="$(basename "$file")" -v c="$glibc_ceiling" '
      { split($1, v, "_"); if (v[2] != c && v[2] > c) print "  " f ": " $0 }' | sort -u >&2 || true
  done
  exit 1
fi
echo "glibc ceiling: GLIBC_$ceiling (Amazon Linux 2023 has $glibc_ceiling; $arch)"

if [ -n "$ca_bundle" ]; then
  cp "$ca_bundle" "$stage/db-ca-bundle.pem"
  chmod 644 "$stage/db-ca-bundle.pem"
  echo "database CA bundle: $ca_bundle"
else
  "$(dirname "$0")/db-ca-bundle.sh" "$stage/db-ca-bundle.pem"
  echo "database CA bundle: Amazon RDS global bundle + Amazon roots ($(grep -c '^-----BEGIN CERTIFICATE' "$stage/db-ca-bundle.pem") certificates)"
fi

# A reproducible zip: fixed order and times, no extra attributes.
find "$stage" -exec touch -h -d '2000-01-01 00:00:00' {} +
mkdir -p "$(dirname "$output")"
output=$(cd "$(dirname "$output")" && pwd)/$(basename "$output")
rm -f "$output"
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | zip -q -X -9 "$output" -@)
cp "$work/bootstrap.debug" "$output.debug"
if [ -n "$unpacked" ]; then
  mkdir -p "$unpacked"
  cp -a "$stage/." "$unpacked/"
fi

size=$(stat -c %s "$output")
echo "package: $output ($arch, $size bytes; $(find "$stage/lib" -name '*.so*' | wc -l) shared objects in lib/)"
if [ "$size" -gt "$size_target" ]; then
  echo "package: larger than the 5 MiB target ($size_target bytes)" >&2
fi
