#!/usr/bin/env bash
# Writes template.yaml for `aws cloudformation deploy` with the packaged zip
# already in S3: CodeUri points at s3://BUCKET/KEY instead of the source tree
# that `sam build` compiles. The result goes to standard output.
#
# Usage: packaging/cloudformation-template.sh BUCKET KEY > build/template.cfn.yaml
set -euo pipefail
[ $# -eq 2 ] && [ -n "$1" ] && [ -n "$2" ] || {
  echo "usage: $0 BUCKET KEY   (the S3 location of secret-rotator.zip)" >&2
  exit 2
}
template="$(dirname "$0")/../template.yaml"
[ "$(grep -c '^      CodeUri: \.$' "$template")" -eq 1 ] || {
  echo "$0: template.yaml no longer has exactly one 'CodeUri: .' line" >&2
  exit 1
}
# Bucket names and keys are printable; '|' cannot occur in a bucket name and
# is escaped in the key.
key=${2//|/\\|}
sed -e "s|^      CodeUri: \.$|      CodeUri: s3://$1/$key|" \
    -e '/^    Metadata:$/{N;/BuildMethod: makefile/d}' "$template"
