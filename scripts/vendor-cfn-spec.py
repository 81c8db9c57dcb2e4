#!/usr/bin/env python3
"""Vendors the slices of the current CloudFormation resource specification that
template.yaml needs into packaging/cfn-spec/resources.json, for the template
check (packaging/check-template.py), which runs offline.

The specification comes from the npm package @aws-cdk/aws-service-spec (AWS,
Apache-2.0), whose db.json.gz is the CloudFormation resource provider schemas
(the registry's, as `aws cloudformation describe-type` gives them) merged into
one database; AWS publishes a new version most days. Run it when the template
gains a resource type, or to move to a newer specification:

    scripts/vendor-cfn-spec.py                 # the newest version on npm
    scripts/vendor-cfn-spec.py --version 0.1.216

It writes, for every resource type template.yaml names (plus AWS::Lambda::Function,
to which AWS::Serverless::Function passes most properties): each property's
name, whether it is required, its type (string, integer, boolean, number,
json, tag, a named property type, a list or map of one, or a union), the
allowed values when the specification lists them, and the attributes
Fn::GetAtt may read. Documentation is left out.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "@aws-cdk/aws-service-spec"
OUTPUT = os.path.join(ROOT, "packaging", "cfn-spec", "resources.json")
ALWAYS = ["AWS::Lambda::Function"]


def template_types():
    with open(os.path.join(ROOT, "template.yaml"), encoding="utf-8") as f:
        text = f.read()
    return sorted(set(re.findall(r"^\s+Type: (AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)\s*$", text, re.M)))


def fetch(version):
    work = tempfile.mkdtemp()
    spec = PACKAGE + ("@" + version if version else "")
    out = subprocess.run(["npm", "pack", "--silent", spec], cwd=work, check=True,
                         capture_output=True, text=True).stdout.split()[-1]
    with tarfile.open(os.path.join(work, out)) as tar:
        meta = json.load(tar.extractfile("package/package.json"))
        db = json.loads(gzip.decompress(tar.extractfile("package/db.json.gz").read()))
    return meta["version"], db


def convert_type(t, types, definitions, seen):
    kind = t["type"]
    if kind == "ref":
        definition = definitions[t["reference"]["$ref"]]
        name = definition["name"]
        if name not in seen:
            seen.add(name)
            types[name] = {"properties": convert_properties(definition["properties"], types,
                                                            definitions, seen)}
        return {"type": "ref", "ref": name}
    if kind in ("array", "map"):
        return {"type": kind, "element": convert_type(t["element"], types, definitions, seen)}
    if kind == "union":
        return {"type": "union",
                "types": [convert_type(x, types, definitions, seen) for x in t["types"]]}
    converted = {"type": kind}
    if t.get("allowedValues"):
        converted["allowed"] = t["allowedValues"]
    return converted


def convert_properties(properties, types, definitions, seen):
    result = {}
    for name, prop in sorted(properties.items()):
        converted = convert_type(prop["type"], types, definitions, seen)
        if prop.get("required"):
            converted["required"] = True
        result[name] = converted
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", help="the npm package version (default: the newest)")
    args = parser.parse_args()
    version, db = fetch(args.version)
    schema = db["schema"]
    definitions = {e["$id"]: e for e in schema["typeDefinition"]["entities"]}
    by_type = {e["cloudFormationType"]: e for e in schema["resource"]["entities"]}
    wanted = sorted(set(t for t in template_types() if not t.startswith("AWS::Serverless::")) |
                    set(ALWAYS))
    resources = {}
    for name in wanted:
        if name not in by_type:
            sys.exit(f"vendor-cfn-spec.py: {name} is not in {PACKAGE}@{version}")
        entity = by_type[name]
        types = {}
        properties = convert_properties(entity["properties"], types, definitions, set())
        resources[name] = {"properties": properties,
                           "attributes": sorted(entity.get("attributes", {}).keys()),
                           "types": dict(sorted(types.items()))}
    document = {
        "source": f"npm {PACKAGE}@{version} (package/db.json.gz), Apache-2.0; "
                  "written by scripts/vendor-cfn-spec.py",
        "resources": resources,
    }
    with open(OUTPUT, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{OUTPUT}: {len(resources)} resource types from {PACKAGE}@{version}")


if __name__ == "__main__":
    main()
