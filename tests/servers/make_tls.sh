#!/usr/bin/env bash
# Creates a throwaway CA and a server certificate for 127.0.0.1/localhost in DIR:
#   ca.pem ca.key server.pem server.key  (and other-ca.pem: an unrelated CA, for
#   tests that need a CA that does not sign the server).
# The server certificate also names the shapes of Amazon RDS endpoints, as RDS
# issues them (instance, cluster, cluster reader, custom cluster endpoint, each
# by its own name) and as RDS Proxy does (a wildcard), for the tests that reach
# the servers under those names (tests/support/task_dir.h).
# Idempotent and safe to run concurrently on the same DIR (the MariaDB and
# PostgreSQL fixtures start at once under ctest -j): the first run holds a
# lock while it makes the files in a private folder and moves them in; the
# others wait for the lock and then find them made.
set -euo pipefail
dir=${1:?usage: make_tls.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"
exec 9>"$dir/.make_tls.lock"
flock -w 120 9 || { echo "make_tls.sh: $dir stayed locked for 120 s" >&2; exit 1; }
# A set made before the RDS names were added is made again.
[ -s server.pem ] && openssl x509 -in server.pem -noout -ext subjectAltName 2>/dev/null |
  grep -q 'cluster-ro-abc123xyz' && exit 0
work=$(mktemp -d "$dir/.making.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=secret-rotator test CA" \
  -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated test CA" \
  -keyout other-ca.key -out other-ca.pem -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
cat > server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=@names
[names]
IP.1=127.0.0.1
DNS.1=localhost
DNS.2=mydb.abc123xyz.eu-west-1.rds.amazonaws.com
DNS.3=mydb.cluster-abc123xyz.eu-west-1.rds.amazonaws.com
DNS.4=mydb.cluster-ro-abc123xyz.eu-west-1.rds.amazonaws.com
DNS.5=reporting.cluster-custom-abc123xyz.eu-west-1.rds.amazonaws.com
DNS.6=*.proxy-abc123xyz.eu-west-1.rds.amazonaws.com
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem other-ca.pem server.pem
chmod 600 server.key ca.key other-ca.key
# server.pem last: its presence means the set is complete.
for file in ca.key ca.pem other-ca.key other-ca.pem server.key server.pem; do
  mv -f "$file" "$dir/$file"
done
