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

# The name its messages give (scripts/lib/debian-source.sh).
# shellcheck disable=SC2034
debian_source_script=build-curl.sh
# shellcheck source=lib/debian-source.sh
. "$(dirname "$0")/lib/debian-source.sh"
debian_source_arguments "$@"

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


# build_curl SOURCE_DIR OUTPUT_DIR (see debian_source_build).
build_curl() {
  cd "$1"
  ./configure --prefix="$2" "${configure_flags[@]}" \
    ${debian_source_cross_args[@]+"${debian_source_cross_args[@]}"} CFLAGS="-O2 -g0"
  make -j"$(nproc)" -C lib
  make -C lib install
  make -C include install
  rm -rf "${2:?}/bin" "${2:?}/share"
  cp COPYING "$2/COPYING"
}

debian_source_build curl curl "$flags_hash" lib/libcurl.a build_curl "$debian_source_cache" "$debian_source_host"
