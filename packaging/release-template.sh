#!/usr/bin/env bash
# Writes the release template of version VERSION to standard output:
# template.yaml with nothing to build. The function's code is the released
# zip in S3,
#   s3://<CodeBucket>/<CodeKeyPrefix>secret-rotator-VERSION-<Architecture>.zip
# (CodeBucket, CodeKeyPrefix: new parameters; Architecture: template.yaml's),
# and the template carries the AWS::ServerlessRepo::Application metadata that
# publishing to the AWS Serverless Application Repository needs (SAM CLI:
# sam publish; LicenseUrl and ReadmeUrl are files next to the template, which
# `sam package` uploads).
#
# Usage: packaging/release-template.sh VERSION [--spdx-license ID --license-file FILE]
#            [--source-url URL] > secret-rotator-VERSION-template.yaml
# Without --spdx-license the template has no license metadata: the Serverless
# Application Repository then publishes the application privately only.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 VERSION [--spdx-license ID --license-file FILE] [--source-url URL]" >&2; exit 2; }
version=$1
shift
spdx="" license_file="" source_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --spdx-license) spdx=$2; shift 2 ;;
    --license-file) license_file=$2; shift 2 ;;
    --source-url) source_url=$2; shift 2 ;;
    *) echo "release-template.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
# The Serverless Application Repository's SemanticVersion is semver 2.0.0.
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || {
  echo "release-template.sh: '$version' is not a version like 1.2.3" >&2
  exit 2
}
[ -z "$spdx" ] || [[ "$spdx" =~ ^[A-Za-z0-9.+-]+$ ]] || { echo "release-template.sh: bad SPDX id '$spdx'" >&2; exit 2; }
[ -z "$spdx" ] || [ -n "$license_file" ] || { echo "release-template.sh: --spdx-license needs --license-file" >&2; exit 2; }
[ -z "$source_url" ] || [[ "$source_url" =~ ^https://[^[:space:]\"\']+$ ]] || {
  echo "release-template.sh: --source-url must be an https URL" >&2
  exit 2
}

template="$(dirname "$0")/../template.yaml"
for line in '^      CodeUri: \.$' '^Metadata:$' '^Parameters:$' '^  Architecture:$' '^      Architectures: \[!Ref Architecture\]$'; do
  [ "$(grep -c "$line" "$template")" -eq 1 ] || {
    echo "$0: template.yaml no longer has exactly one line matching '$line'" >&2
    exit 1
  }
done

description=$(awk '/^Description: >-$/ {on = 1; next} on && /^  / {sub(/^  /, ""); printf "%s%s", sep, $0; sep = " "; next} on {exit}' "$template")
metadata="Metadata:\n  AWS::ServerlessRepo::Application:\n    Name: secret-rotator\n"
metadata+="    Description: >-\n      ${description//\\/\\\\}\n"
metadata+="    Author: secret-rotator maintainers\n"
metadata+="    SemanticVersion: $version\n"
metadata+="    Labels: [secretsmanager, rotation, mysql, mariadb, postgresql, rds]\n"
metadata+="    ReadmeUrl: README.md\n"
if [ -n "$spdx" ]; then
  metadata+="    SpdxLicenseId: $spdx\n    LicenseUrl: $(basename "$license_file")\n"
fi
if [ -n "$source_url" ]; then
  metadata+="    HomePageUrl: $source_url\n    SourceCodeUrl: $source_url\n"
fi

parameters="Parameters:\n"
parameters+="  CodeBucket:\n    Type: String\n    AllowedPattern: '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]'\n"
parameters+="    Description: S3 bucket holding secret-rotator-$version-<Architecture>.zip (same region as the stack).\n"
parameters+="  CodeKeyPrefix:\n    Type: String\n    Default: \"\"\n"
parameters+="    Description: Key prefix of the zips in CodeBucket, e.g. releases/ (empty for the bucket's root).\n"

code="      CodeUri:\n        Bucket: !Ref CodeBucket\n"
code+="        Key: !Sub \"\${CodeKeyPrefix}secret-rotator-$version-\${Architecture}.zip\""

# In order: the metadata, the new parameters, the code location; the
# makefile build's metadata goes (nothing is built).
awk -v metadata="$metadata" -v parameters="$parameters" -v code="$code" '
  function expand(s) { gsub(/\\n/, "\n", s); sub(/\n$/, "", s); return s }
  /^Metadata:$/ { print expand(metadata); next }
  /^Parameters:$/ { print expand(parameters); next }
  /^      CodeUri: \.$/ { print expand(code); next }
  /^    Metadata:$/ { held = $0; next }
  held != "" { if ($0 ~ /^      BuildMethod: makefile$/) { held = ""; next } print held; held = "" }
  { print }' "$template"
