#!/usr/bin/env bash
# Lints template.yaml, and the variants packaging/cloudformation-template.sh
# and packaging/release-template.sh make of it, with cfn-lint from npm (the only CloudFormation/SAM linter
# Debian or npm offers here), installed into packaging/lint/.
#
# cfn-lint 1.9.7's resource specification predates some properties the
# template uses; those findings, and only those, are listed below and
# reported as ignored. Any other finding fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x packaging/lint/node_modules/.bin/cfn-lint ]; then
  (cd packaging/lint && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# "Resource path|message" of findings that are the linter's outdated spec.
known_outdated=(
  "Parameters > SubnetIds|Parameter SubnetIds contains a CommaDelimitedList where the number of commas appears to be equal or greater than the list of items."
  "Parameters > SecurityGroupIds|Parameter SecurityGroupIds contains a CommaDelimitedList where the number of commas appears to be equal or greater than the list of items."
  "Resources > RotationFunction > Properties > Architectures|Architectures is not a valid property of AWS::Serverless::Function"
  "Resources > RotationFunction > Properties > LoggingConfig|LoggingConfig is not a valid property of AWS::Serverless::Function"
  "Resources > RotationFunction > Properties > Environment > Variables > EXCLUDE_CHARACTERS|Expecting a string, got undefined"
  "Resources > RotationFunction > Properties > Environment > Variables > DB_TLS_CA_FILE|Expecting a string, got undefined"
  "Resources > RotationSchedule > Properties > RotateImmediatelyOnUpdate|RotateImmediatelyOnUpdate is not a valid property of AWS::SecretsManager::RotationSchedule"
  "Resources > RotationSchedule > Properties > RotationRules > ScheduleExpression|ScheduleExpression is not a valid property of AWS::SecretsManager::RotationSchedule.RotationRules"
)

# Prints the findings in FILE that are not known; returns how many there are.
lint() {
  local file=$1 output findings finding entry known unexpected=0
  output=$(packaging/lint/node_modules/.bin/cfn-lint validate "$file" 2>&1 | sed 's/\x1b\[[0-9;]*m//g') || true
  if ! grep -qE '^[0-9]+ crit' <<<"$output"; then
    echo "cfn-lint did not run on $file:" >&2
    echo "$output" >&2
    return 1
  fi
  findings=$(awk '/^Resource: /{resource=substr($0, 11)} /^Message: /{print resource "|" substr($0, 10)}' <<<"$output")
  while IFS= read -r finding; do
    [ -n "$finding" ] || continue
    known=0
    for entry in "${known_outdated[@]}"; do
      [ "$finding" = "$entry" ] && known=1
    done
    if [ $known -eq 1 ]; then
      echo "ignored (cfn-lint 1.9.7 spec is outdated): $finding"
    else
      echo "FINDING in $file: $finding" >&2
      unexpected=$((unexpected + 1))
    fi
  done <<<"$findings"
  return $unexpected
}

variant=$(mktemp --suffix=.yaml)
release=$(mktemp --suffix=.yaml)
trap 'rm -f "$variant" "$release"' EXIT
packaging/cloudformation-template.sh example-bucket secret-rotator.zip >"$variant"
packaging/release-template.sh 1.2.3 --source-url https://example.com/secret-rotator >"$release"
failed=0
lint template.yaml || failed=1
lint "$variant" || failed=1
lint "$release" || failed=1
if [ $failed -ne 0 ]; then
  echo "template.yaml: the linter has findings (above)" >&2
  exit 1
fi
echo "template.yaml and its CloudFormation and release variants: valid (cfn-lint 1.9.7)"
