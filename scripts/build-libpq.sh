#!/usr/bin/env bash
# Builds the static libpq the function links, from Debian's own source
# package of PostgreSQL 15 (postgresql-15, which Debian keeps patching for
# security fixes), with OpenSSL and nothing else: no GSSAPI (Kerberos), LDAP,
# readline, zlib, ICU, LLVM, NLS. Only what libpq needs is built: libpq.a and
# the two static libraries it links, libpgcommon_shlib.a and
# libpgport_shlib.a (src/interfaces/libpq, src/common, src/port), and the
# headers libpq-fe.h needs.
#
# The result is cached in CACHE/libpq-<Debian version>-<configuration hash>/
# (include/, lib/, COPYRIGHT, DEBIAN_VERSION), so rebuilds, other build
# folders and other checkouts reuse it; a new Debian version of postgresql-15
# (a security update) is built anew the next time CMake configures. Prints
# that folder on the last line of stdout. Needs `apt-get source` to work: a
# deb-src line for the archive (scripts/install-deps.sh adds it) and dpkg-dev.
#
# --host TRIPLET cross-builds for another architecture with Debian's cross
# compiler TRIPLET-gcc and that architecture's OpenSSL (libssl-dev:ARCH); the
# cache folder then is CACHE/libpq-TRIPLET-<Debian version>-<hash>/.
#
# Usage: scripts/build-libpq.sh --cache DIR [--host aarch64-linux-gnu]
set -euo pipefail

# The name its messages give (scripts/lib/debian-source.sh).
# shellcheck disable=SC2034
debian_source_script=build-libpq.sh
# shellcheck source=lib/debian-source.sh
. "$(dirname "$0")/lib/debian-source.sh"
debian_source_arguments "$@"

# Everything the function does not use is left out (most are off by default;
# saying so keeps them off if a default changes). The function logs in with
# passwords only and never looks connection settings up in LDAP.
configure_flags=(
  --with-ssl=openssl
  --without-gssapi --without-ldap --without-pam --without-bsd-auth --without-bonjour
  --without-readline --without-zlib --without-lz4 --without-zstd --without-icu --without-llvm
  --without-libxml --without-libxslt --without-selinux --without-systemd
  --without-perl --without-python --without-tcl
  --disable-nls --disable-rpath
  # Debian's hardening, as dpkg-buildflags gives it for the package itself.
  "CFLAGS=-O2 -g0 -fstack-protector-strong -Wformat -Werror=format-security"
  "CPPFLAGS=-D_FORTIFY_SOURCE=2"
)
flags_hash=$(printf '%s\n' "${configure_flags[@]}" | md5sum | cut -c1-8)


# build_libpq SOURCE_DIR OUTPUT_DIR (see debian_source_build). Only the three
# libraries' own make targets: the folders' default targets would also build
# the server's and the programs' variants of libpgcommon and libpgport, and
# libpq's shared library.
build_libpq() {
  cd "$1"
  local started=$SECONDS jobs
  ./configure --prefix="$2" "${configure_flags[@]}" \
    ${debian_source_cross_args[@]+"${debian_source_cross_args[@]}"}
  echo "== configure: $((SECONDS - started)) s"
  started=$SECONDS
  jobs=$(nproc)
  # The headers generated from the catalog; the source tarball holds them
  # already, and this links them where the includes expect them.
  make -C src/backend generated-headers
  # Done once above; and libpq's prerequisite would build all of src/port and src/common.
  make -C src/port -j"$jobs" NO_GENERATED_HEADERS=1 libpgport_shlib.a
  make -C src/common -j"$jobs" NO_GENERATED_HEADERS=1 libpgcommon_shlib.a
  make -C src/interfaces/libpq -j"$jobs" NO_GENERATED_HEADERS=1 SHLIB_PREREQS= libpq.a
  echo "== make: $((SECONDS - started)) s"
  mkdir -p "$2/include" "$2/lib"
  cp src/interfaces/libpq/libpq.a src/common/libpgcommon_shlib.a src/port/libpgport_shlib.a \
    "$2/lib/"
  cp src/interfaces/libpq/libpq-fe.h src/interfaces/libpq/libpq-events.h \
    src/include/postgres_ext.h src/include/pg_config_ext.h "$2/include/"
  cp COPYRIGHT "$2/COPYRIGHT"
}

debian_source_build postgresql-15 libpq "$flags_hash" lib/libpq.a build_libpq "$debian_source_cache" "$debian_source_host"
