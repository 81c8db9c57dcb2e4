#!/usr/bin/env bash
# Builds the static libcurl the function links, from Debian's own source
# package of curl (which Debian keeps patching for security fixes), with only
# HTTP and HTTPS on the system's OpenSSL: no LDAP, RTMP, SSH, IDN, PSL,
# HTTP/2, brotli, zstd, zlib or any other protocol.
#
# The result is cached in CACHE/curl-<Debian version>-<configuration hash>/
# (include/, lib/libcurl.a), so rebuilds, other build folders and other
# checkouts reuse it; a new Debian version of curl (a security update) is
# built anew the next time CMake configures. Prints that folder on the last
# line of stdout. Needs `apt-get source` to work: a deb-src line for the
# archive (scripts/install-deps.sh adds it) and dpkg-dev.
#
# --host TRIPLET cross-builds for another architecture with Debian's cross
# compiler TRIPLET-gcc and that architecture's OpenSSL (libssl-dev:ARCH,
# found with pkg-config in /usr/lib/TRIPLET); the cache folder then is
# CACHE/curl-TRIPLET-<Debian version>-<configuration hash>/.
#
# Usage: scripts/build-curl.sh --cache DIR [--host aarch64-linux-gnu]
set -euo pipefail

cache="" host=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-curl.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$cache" ] || { echo "build-curl.sh: --cache is required" >&2; exit 2; }

# Everything the function does not use is left out. arc4random (glibc 2.36)
# is refused so that the library stays within Amazon Linux 2023's glibc 2.34;
# curl then takes its random bytes from OpenSSL.
configure_flags=(
  --disable-shared --enable-static --with-pic
  --with-openssl --without-zlib --without-brotli --without-zstd
  --without-libidn2 --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2
  --without-quiche --without-msh3 --without-librtmp --without-libssh2 --without-libssh
  --without-wolfssh --without-gssapi --without-libgsasl --without-hyper
  --without-ca-bundle --without-ca-path --without-ca-fallback
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp
  --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt
  --disable-ftp --disable-file --disable-unix-sockets --disable-manual --disable-ntlm
  --disable-ntlm-wb --disable-cookies
  --disable-mime --disable-netrc --disable-alt-svc --disable-hsts --disable-doh
  --disable-progress-meter --disable-tls-srp --disable-websockets --disable-dependency-tracking
  --enable-threaded-resolver --enable-ipv6 --enable-proxy --enable-http
  ac_cv_func_arc4random=no
)
flags_hash=$(printf '%s\n' "${configure_flags[@]}" | md5sum | cut -c1-8)
name_prefix=curl
cross=()
if [ -n "$host" ]; then
  case "$host" in
    *[!a-z0-9_-]*) echo "build-curl.sh: '$host' is not a GNU triplet" >&2; exit 2 ;;
  esac
  command -v "$host-gcc" >/dev/null || {
    echo "build-curl.sh: $host-gcc is not installed (Debian: gcc-$host)" >&2
    exit 2
  }
  [ -f "/usr/lib/$host/pkgconfig/openssl.pc" ] || {
    echo "build-curl.sh: no OpenSSL for $host (/usr/lib/$host/pkgconfig/openssl.pc; Debian:" \
      "libssl-dev for that architecture)" >&2
    exit 2
  }
  name_prefix=curl-$host
  cross=(--host="$host" CC="$host-gcc" AR="$host-ar" RANLIB="$host-ranlib"
         PKG_CONFIG_LIBDIR="/usr/lib/$host/pkgconfig")
fi

# The source version apt would fetch now.
dsc=$(cd /tmp && apt-get source --print-uris curl 2>/dev/null | awk '$2 ~ /\.dsc$/ {print $2}' |
  head -n 1 || true)
version=${dsc#curl_}
version=${version%.dsc}
if [ -z "$version" ]; then
  # Offline or no deb-src line: a build made earlier still serves.
  found=$(find "$cache" -maxdepth 1 -name "$name_prefix-[0-9]*-$flags_hash" -type d 2>/dev/null | sort -V |
    tail -n 1 || true)
  if [ -n "$found" ] && [ -f "$found/lib/libcurl.a" ]; then
    echo "build-curl.sh: apt-get source curl is not available; using the cached $found" >&2
    echo "$found"
    exit 0
  fi
  echo "build-curl.sh: 'apt-get source curl' finds no source package. Add a deb-src line for" \
    "Debian's archive (scripts/install-deps.sh does) and run apt-get update." >&2
  exit 1
fi
target="$cache/$name_prefix-$version-$flags_hash"
if [ -f "$target/lib/libcurl.a" ]; then
  echo "$target"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per cache (several build folders may configure at once).
exec 9>"$cache/.lock"
flock 9
if [ -f "$target/lib/libcurl.a" ]; then
  echo "$target"
  exit 0
fi
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$cache/build-$name_prefix.log"
echo "build-curl.sh: building libcurl $version${host:+ for $host} from Debian's source package (log: $log)" >&2
{
  cd "$work"
  # As root, apt hands the download to its _apt user, who cannot write here.
  chmod 755 "$work"
  apt-get source -q "curl=$version"
  cd "curl-${version%%-*}"
  ./configure --prefix="$work/install" "${configure_flags[@]}" ${cross[@]+"${cross[@]}"} \
    CFLAGS="-O2 -g0"
  make -j"$(nproc)" -C lib
  make -C lib install
  make -C include install
} >"$log" 2>&1 || {
  tail -n 40 "$log" >&2
  echo "build-curl.sh: building libcurl failed; the whole log is $log" >&2
  exit 1
}
mkdir -p "$target.tmp"
cp -a "$work/install/include" "$work/install/lib" "$target.tmp/"
cp "$work/curl-${version%%-*}/COPYING" "$target.tmp/COPYING"
echo "$version" >"$target.tmp/DEBIAN_VERSION"
mv "$target.tmp" "$target"
echo "$target"
