#!/usr/bin/env bash
# Writes the database CA bundle every package ships by default (db-ca-bundle.pem
# next to bootstrap, which the function uses when DB_TLS_CA_FILE is unset):
#   - packaging/rds-ca/global-bundle.pem: Amazon RDS's global bundle, the CAs of
#     RDS and Aurora instance, cluster and reader endpoints; checked against its
#     committed SHA-256 first (scripts/refresh-rds-ca.sh --check);
#   - aws/amazon_root_cas.pem: Amazon Root CA 1-4 and Starfield Services Root
#     G2, which the certificates of RDS Proxy endpoints chain to (ACM).
#
# Usage: packaging/db-ca-bundle.sh OUTPUT
set -euo pipefail
output=${1:?usage: packaging/db-ca-bundle.sh OUTPUT}
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/refresh-rds-ca.sh" --check >/dev/null
mkdir -p "$(dirname "$output")"
tmp=$(mktemp "$output.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  cat "$root/packaging/rds-ca/global-bundle.pem"
  grep -v '^#' "$root/aws/amazon_root_cas.pem"
} >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$output"
