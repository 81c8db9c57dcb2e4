# shellcheck shell=bash
# Shared by the scripts that build a static library from Debian's own source
# package (scripts/build-curl.sh, scripts/build-libpq.sh); sourced, not run.
#
# debian_source_build does what they share: find the source version apt
# would fetch now, reuse a finished build of it from the cache, or fetch it
# with `apt-get source` (Debian's patches applied) and hand it to the
# caller's build function, one build at a time per cache. The result lives in
#   CACHE/NAME-<Debian version>-<configuration hash>/
# (NAME-TRIPLET-... for a cross build) with DEBIAN_VERSION beside what the
# build function installed; its path is printed on the last line of stdout.
# A new Debian version (a security update) is built anew the next time.
#
# When the newest version cannot be downloaded (a mirror that lacks it),
# an older source version apt knows is used instead, with a line starting
# "WARNING:" on stderr that names both (CMake shows it at configure time);
# with SECRET_ROTATOR_NEWEST_SOURCE_ONLY=1 that is an error instead.
# Offline, or without a deb-src line, the newest build in the cache serves.

# Set by the caller before anything here runs: the script's name for messages.
debian_source_script=${debian_source_script:-debian-source.sh}

debian_source_fail() {
  echo "$debian_source_script: $*" >&2
  exit "${debian_source_status:-1}"
}

# debian_source_arguments "$@": reads the building script's arguments,
# --cache DIR (required) and --host TRIPLET (a cross build: checked, and
# debian_source_cross_args set), into debian_source_cache and
# debian_source_host; --help prints the script's opening comment.
debian_source_arguments() {
  debian_source_cache="" debian_source_host=""
  debian_source_cross_args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --cache) debian_source_cache=${2:-}; shift 2 ;;
      --host) debian_source_host=${2:-}; shift 2 ;;
      -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) debian_source_status=2 debian_source_fail "unknown argument '$1' (see --help)" ;;
    esac
  done
  [ -n "$debian_source_cache" ] || debian_source_status=2 debian_source_fail "--cache is required"
  [ -z "$debian_source_host" ] || debian_source_cross "$debian_source_host"
}

# debian_source_cross HOST: checks that HOST is a GNU triplet for which
# Debian's cross compiler and that architecture's OpenSSL (libssl-dev:ARCH,
# with pkg-config in /usr/lib/HOST) are installed, and sets the array
# debian_source_cross_args to the configure arguments of an autoconf cross
# build with them.
debian_source_cross() {
  local host=$1
  case "$host" in
    "" | *[!a-z0-9_-]*) debian_source_status=2 debian_source_fail "'$host' is not a GNU triplet" ;;
  esac
  command -v "$host-gcc" >/dev/null ||
    debian_source_status=2 debian_source_fail "$host-gcc is not installed (Debian: gcc-$host)"
  [ -f "/usr/lib/$host/pkgconfig/openssl.pc" ] ||
    debian_source_status=2 debian_source_fail "no OpenSSL for $host" \
      "(/usr/lib/$host/pkgconfig/openssl.pc; Debian: libssl-dev for that architecture)"
  # shellcheck disable=SC2034 # used by the caller
  debian_source_cross_args=(--host="$host" CC="$host-gcc" AR="$host-ar" RANLIB="$host-ranlib"
                            PKG_CONFIG_LIBDIR="/usr/lib/$host/pkgconfig")
}

# debian_source_versions PACKAGE: the source versions apt can fetch, best
# first: the one `apt-get source PACKAGE` picks, then the older ones apt
# lists, newest first. Nothing when apt knows no source of PACKAGE.
debian_source_versions() {
  local package=$1 dsc newest older
  dsc=$(cd /tmp && apt-get source --print-uris "$package" 2>/dev/null |
    awk '$2 ~ /\.dsc$/ {print $2}' | head -n 1 || true)
  newest=${dsc#"${package}"_}
  newest=${newest%.dsc}
  [ -n "$newest" ] || return 0
  echo "$newest"
  for older in $(apt-cache showsrc "$package" 2>/dev/null | awk '$1 == "Version:" {print $2}' |
    sort -u -r -V); do
    if dpkg --compare-versions "$older" lt "$newest"; then echo "$older"; fi
  done
}

# debian_source_build PACKAGE NAME HASH MARKER BUILD_FUNCTION CACHE [HOST]
#   NAME           the cache folders' prefix (curl, libpq)
#   HASH           a short hash of the build's configuration
#   MARKER         a file inside a finished build (lib/libcurl.a)
#   BUILD_FUNCTION called as BUILD_FUNCTION SOURCE_DIR OUTPUT_DIR in a
#                  subshell, with its output going to the log: builds the
#                  unpacked, patched source into OUTPUT_DIR (include/, lib/...)
#   HOST           the GNU triplet of a cross build, empty for a native one
# Prints the folder of the build on the last line of stdout.
debian_source_build() {
  local package=$1 name=$2 hash=$3 marker=$4 build_function=$5 cache=$6 host=${7:-}
  local prefix=$name${host:+-$host}
  local versions=() version target found
  mapfile -t versions < <(debian_source_versions "$package")
  if [ ${#versions[@]} -eq 0 ]; then
    found=$(find "$cache" -maxdepth 1 -name "$prefix-[0-9]*-$hash" -type d 2>/dev/null |
      sort -V | tail -n 1 || true)
    if [ -n "$found" ] && [ -f "$found/$marker" ]; then
      echo "$debian_source_script: apt-get source $package is not available; using the cached $found" >&2
      echo "$found"
      return 0
    fi
    debian_source_fail "'apt-get source $package' finds no source package. Add a deb-src line" \
      "for Debian's archive (scripts/install-deps.sh does) and run apt-get update."
  fi
  target="$cache/$prefix-${versions[0]}-$hash"
  if [ -f "$target/$marker" ]; then
    echo "$target"
    return 0
  fi

  mkdir -p "$cache"
  # One build at a time per cache (several build folders may configure at once).
  exec 9>"$cache/.lock"
  flock 9
  local log="$cache/build-$prefix.log" fetch_log="$cache/fetch-$prefix.log" work index=0
  work=$(mktemp -d "$cache/.build.XXXXXX")
  # shellcheck disable=SC2064 # the folder is known now
  trap "rm -rf '$work'" EXIT
  # As root, apt hands the download to its _apt user, who cannot write a private folder.
  chmod 755 "$work"
  : >"$fetch_log"
  for version in "${versions[@]}"; do
    target="$cache/$prefix-$version-$hash"
    if [ -f "$target/$marker" ]; then
      [ $index -eq 0 ] || debian_source_older_warning "$package" "${versions[0]}" "$version" "$fetch_log"
      echo "$target"
      return 0
    fi
    mkdir "$work/$index"
    if ! (cd "$work/$index" && chmod 755 . && apt-get source -q "$package=$version") >>"$fetch_log" 2>&1; then
      echo "$debian_source_script: could not download $package $version (log: $fetch_log)" >&2
      index=$((index + 1))
      continue
    fi
    [ $index -eq 0 ] || debian_source_older_warning "$package" "${versions[0]}" "$version" "$fetch_log"
    echo "$debian_source_script: building $name $version${host:+ for $host} from Debian's" \
      "source package (log: $log)" >&2
    local source_dir
    source_dir=$(find "$work/$index" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    mkdir "$work/out"
    # In the background and waited for: a subshell tested with if or || would
    # run with errexit off, and carry on past a failed step.
    local status=0
    : >"$log"
    ("$build_function" "$source_dir" "$work/out") >>"$log" 2>&1 &
    wait $! || status=$?
    if [ $status -ne 0 ]; then
      tail -n 40 "$log" >&2
      debian_source_fail "building $name $version failed; the whole log is $log"
    fi
    echo "$version" >"$work/out/DEBIAN_VERSION"
    rm -rf "$target.tmp"
    mv "$work/out" "$target.tmp"
    mv "$target.tmp" "$target"
    echo "$target"
    return 0
  done
  tail -n 20 "$fetch_log" >&2
  debian_source_fail "no source version of $package could be downloaded" \
    "(${versions[*]}); the whole log is $fetch_log"
}

# With SECRET_ROTATOR_NEWEST_SOURCE_ONLY=1 (packaging/release.sh sets it) an
# older version is refused instead: a release never ships without a fix apt
# already offers.
debian_source_older_warning() {
  if [ "${SECRET_ROTATOR_NEWEST_SOURCE_ONLY:-0}" = 1 ]; then
    debian_source_fail "the newest $1 source apt offers, $2, could not be downloaded" \
      "(log: $4), and SECRET_ROTATOR_NEWEST_SOURCE_ONLY=1 refuses the older $3. Check the" \
      "deb-src lines and the mirror, run apt-get update, and try again."
  fi
  echo "WARNING: $debian_source_script: the newest $1 source apt offers, $2, could not be" \
    "downloaded (log: $4); using $3 instead, which lacks Debian's fixes between the two." \
    "Check the deb-src lines and the mirror, run apt-get update, and configure again." >&2
}
