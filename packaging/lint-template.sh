#!/usr/bin/env bash
# Checks template.yaml, and the variants packaging/cloudformation-template.sh
# and packaging/release-template.sh make of it, against the current CloudFormation resource specification
# (packaging/check-template.py with the slices vendored in packaging/cfn-spec/).
#
# Why not a linter: no current CloudFormation linter installs here. AWS's
# cfn-lint is a Python package (PyPI is not reachable; Debian 12 has no
# cfn-lint), and the npm package named cfn-lint (1.9.7, the newest) is an
# unrelated tool whose specification predates Architectures, LoggingConfig and
# RotateImmediatelyOnUpdate and which rejects every intrinsic function.
set -euo pipefail
cd "$(dirname "$0")/.."

variant=$(mktemp --suffix=.yaml)
release=$(mktemp --suffix=.yaml)
trap 'rm -f "$variant" "$release"' EXIT
packaging/cloudformation-template.sh example-bucket secret-rotator.zip >"$variant"
packaging/release-template.sh 1.2.3 --source-url https://example.com/secret-rotator >"$release"
packaging/check-template.py template.yaml "$variant" "$release"
