#!/usr/bin/env python3
"""Checks a CloudFormation/SAM template against the current CloudFormation
resource specification, offline (packaging/cfn-spec/: resources.json vendored
from AWS's specification by scripts/vendor-cfn-spec.py; serverless.json for
AWS::Serverless::Function). It reports:

  - a section, parameter, resource or output key CloudFormation does not know;
  - a resource type the specification does not have;
  - a property the type does not have, at any depth (property types, lists,
    maps, both branches of Fn::If), and a required property that is missing;
  - a literal value outside a property's allowed values, or of the wrong kind;
  - a Ref, Fn::GetAtt, Fn::Sub variable, DependsOn or condition naming
    something the template does not define (or an attribute the type lacks);
  - a parameter default outside its AllowedValues or AllowedPattern.

Usage: packaging/check-template.py TEMPLATE...   (exit 1 on any finding)
"""

import json
import os
import re
import sys

import yaml

SPEC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cfn-spec")

SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
            "Mappings", "Conditions", "Transform", "Resources", "Outputs"}
PARAMETER_KEYS = {"Type", "Default", "Description", "AllowedValues", "AllowedPattern",
                  "ConstraintDescription", "MinLength", "MaxLength", "MinValue", "MaxValue",
                  "NoEcho"}
PARAMETER_TYPES = {"String", "Number", "List<Number>", "CommaDelimitedList"}
RESOURCE_KEYS = {"Type", "Properties", "Condition", "DependsOn", "Metadata", "DeletionPolicy",
                 "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy"}
OUTPUT_KEYS = {"Description", "Value", "Export", "Condition"}
RULE_KEYS = {"RuleCondition", "Assertions"}
PSEUDO = {"AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
FUNCTIONS = ("Ref", "Condition", "Fn::Base64", "Fn::Cidr", "Fn::FindInMap", "Fn::GetAtt",
             "Fn::GetAZs", "Fn::ImportValue", "Fn::Join", "Fn::Length", "Fn::Select",
             "Fn::Split", "Fn::Sub", "Fn::ToJsonString", "Fn::If", "Fn::Equals", "Fn::Not",
             "Fn::And", "Fn::Or", "Fn::Contains", "Fn::EachMemberEquals",
             "Fn::EachMemberIn", "Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll")
DELETION_POLICIES = {"Delete", "Retain", "RetainExceptOnCreate", "Snapshot"}


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt, ...)."""


def _short_form(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else "Fn::" + suffix)
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


Loader.add_multi_constructor("!", _short_form)


def load_spec():
    resources = {}
    sources = []
    for name in ("resources.json", "serverless.json"):
        with open(os.path.join(SPEC_DIR, name), encoding="utf-8") as f:
            document = json.load(f)
        resources.update(document["resources"])
        sources.append(document["source"])
    return resources, sources


def is_function(value):
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in FUNCTIONS


class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.findings = []

    def finding(self, path, message):
        self.findings.append(f"{path}: {message}")

    # --- values against the specification --------------------------------

    def check_value(self, value, ptype, types, path):
        if is_function(value):
            key, argument = next(iter(value.items()))
            if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
                for branch in argument[1:]:
                    if branch != {"Ref": "AWS::NoValue"}:
                        self.check_value(branch, ptype, types, path)
            return  # any other function's result is known only at deployment
        kind = ptype["type"]
        if kind == "ref":
            if not isinstance(value, dict):
                self.finding(path, f"expected a {ptype['ref']} (a mapping), got {value!r}")
                return
            self.check_properties(value, types[ptype["ref"]]["properties"], types, path)
        elif kind == "array":
            if not isinstance(value, list):
                self.finding(path, f"expected a list, got {value!r}")
                return
            for i, element in enumerate(value):
                if element != {"Ref": "AWS::NoValue"}:
                    self.check_value(element, ptype["element"], types, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, dict):
                self.finding(path, f"expected a mapping, got {value!r}")
                return
            for key, element in value.items():
                self.check_value(element, ptype["element"], types, f"{path}.{key}")
        elif kind == "union":
            for option in ptype["types"]:
                trial = Checker(self.spec)
                trial.check_value(value, option, types, path)
                if not trial.findings:
                    return
            self.finding(path, f"{value!r} matches none of the property's types")
        elif kind == "tag":
            if not isinstance(value, dict) or set(value) - {"Key", "Value"} or "Key" not in value:
                self.finding(path, f"expected a tag (Key, Value), got {value!r}")
        elif kind == "json":
            if not isinstance(value, (dict, str)):
                self.finding(path, f"expected a JSON object, got {value!r}")
        else:
            self.check_primitive(value, ptype, path)

    def check_primitive(self, value, ptype, path):
        kind = ptype["type"]
        if isinstance(value, (dict, list)):
            self.finding(path, f"expected a {kind}, got {value!r}")
            return
        if kind == "boolean" and not (isinstance(value, bool) or value in ("true", "false")):
            self.finding(path, f"expected a boolean, got {value!r}")
        elif kind in ("integer", "number"):
            try:
                (int if kind == "integer" else float)(value)
            except (TypeError, ValueError):
                self.finding(path, f"expected a {kind}, got {value!r}")
        elif "allowed" in ptype and str(value) not in ptype["allowed"]:
            self.finding(path, f"{value!r} is not one of {', '.join(ptype['allowed'])}")

    def check_properties(self, values, properties, types, path):
        for name, value in values.items():
            if name not in properties:
                self.finding(f"{path}.{name}", "not a property of this type")
                continue
            self.check_value(value, properties[name], types, f"{path}.{name}")
        for name, prop in properties.items():
            if prop.get("required") and name not in values:
                self.finding(path, f"the required property {name} is missing")

    def check_resource(self, name, resource):
        path = f"Resources.{name}"
        rtype = resource["Type"]
        spec = self.spec.get(rtype)
        if spec is None:
            self.finding(path, f"unknown resource type {rtype}")
            return
        properties = resource.get("Properties", {})
        if not isinstance(properties, dict):
            self.finding(f"{path}.Properties", "expected a mapping")
            return
        if "passthrough_to" in spec:  # AWS::Serverless::Function
            target = self.spec[spec["passthrough_to"]]
            for prop, value in properties.items():
                if prop not in spec["properties"]:
                    self.finding(f"{path}.Properties.{prop}", f"not a property of {rtype}")
                elif spec["properties"][prop]:
                    self.check_value(value, target["properties"][spec["properties"][prop]],
                                     target["types"], f"{path}.Properties.{prop}")
            return
        self.check_properties(properties, spec["properties"], spec["types"], f"{path}.Properties")

    # --- references --------------------------------------------------------

    def check_references(self, node, path, names, resources, conditions):
        if isinstance(node, list):
            for i, element in enumerate(node):
                self.check_references(element, f"{path}[{i}]", names, resources, conditions)
            return
        if not isinstance(node, dict):
            return
        if is_function(node):
            key, argument = next(iter(node.items()))
            if key == "Ref" and argument not in names and argument not in PSEUDO:
                self.finding(path, f"Ref to {argument!r}, which is not defined")
            elif key == "Fn::GetAtt":
                self.check_get_att(argument, path, resources)
            elif key == "Fn::Sub":
                self.check_sub(argument, path, names, resources)
            elif key == "Fn::If" and (not isinstance(argument, list) or len(argument) != 3 or
                                      argument[0] not in conditions):
                self.finding(path, f"Fn::If names an undefined condition: {argument!r}")
            elif key == "Condition" and argument not in conditions:
                self.finding(path, f"condition {argument!r} is not defined")
        for key, value in node.items():
            self.check_references(value, f"{path}.{key}", names, resources, conditions)

    def check_get_att(self, argument, path, resources):
        if not isinstance(argument, list) or len(argument) != 2:
            self.finding(path, f"Fn::GetAtt needs [resource, attribute], got {argument!r}")
            return
        resource, attribute = argument
        if resource not in resources:
            self.finding(path, f"Fn::GetAtt of {resource!r}, which is not a resource")
            return
        spec = self.spec.get(resources[resource].get("Type"))
        if spec is not None and isinstance(attribute, str) and attribute not in spec["attributes"]:
            self.finding(path, f"{resources[resource]['Type']} has no attribute {attribute!r}")

    def check_sub(self, argument, path, names, resources):
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        for variable in re.findall(r"\$\{([^!}][^}]*)\}", text):
            if variable in variables or variable in names or variable in PSEUDO:
                continue
            if "." in variable:
                self.check_get_att(variable.split(".", 1), path, resources)
                continue
            self.finding(path, f"Fn::Sub variable ${{{variable}}} is not defined")

    # --- the template --------------------------------------------------------

    def check_template(self, template):
        if not isinstance(template, dict):
            self.finding("template", "expected a mapping")
            return
        for section in template:
            if section not in SECTIONS:
                self.finding(section, "not a template section")
        parameters = template.get("Parameters", {})
        resources = template.get("Resources", {})
        conditions = template.get("Conditions", {})
        if not resources:
            self.finding("Resources", "a template needs at least one resource")
        for name, parameter in parameters.items():
            self.check_parameter(name, parameter)
        for name, resource in resources.items():
            path = f"Resources.{name}"
            unknown = set(resource) - RESOURCE_KEYS
            for key in sorted(unknown):
                self.finding(f"{path}.{key}", "not a resource attribute")
            if "Type" not in resource:
                self.finding(path, "no Type")
                continue
            if resource.get("Condition") is not None and resource["Condition"] not in conditions:
                self.finding(f"{path}.Condition", f"{resource['Condition']!r} is not defined")
            depends = resource.get("DependsOn", [])
            for target in [depends] if isinstance(depends, str) else depends:
                if target not in resources:
                    self.finding(f"{path}.DependsOn", f"{target!r} is not a resource")
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if policy in resource and resource[policy] not in DELETION_POLICIES:
                    self.finding(f"{path}.{policy}", f"{resource[policy]!r} is not a policy")
            self.check_resource(name, resource)
        for name, rule in template.get("Rules", {}).items():
            for key in sorted(set(rule) - RULE_KEYS):
                self.finding(f"Rules.{name}.{key}", "not a rule key")
            assertions = rule.get("Assertions")
            if not isinstance(assertions, list) or not assertions:
                self.finding(f"Rules.{name}", "a rule needs a list of Assertions")
            else:
                for i, assertion in enumerate(assertions):
                    if not isinstance(assertion, dict) or "Assert" not in assertion or \
                            set(assertion) - {"Assert", "AssertDescription"}:
                        self.finding(f"Rules.{name}.Assertions[{i}]",
                                     "expected Assert (and AssertDescription)")
        for name, output in template.get("Outputs", {}).items():
            for key in sorted(set(output) - OUTPUT_KEYS):
                self.finding(f"Outputs.{name}.{key}", "not an output key")
            if "Value" not in output:
                self.finding(f"Outputs.{name}", "no Value")
        names = set(parameters) | set(resources)
        for section in ("Conditions", "Resources", "Outputs"):
            self.check_references(template.get(section, {}), section, names, resources,
                                  conditions)
        # Rules may refer to parameters only.
        self.check_references(template.get("Rules", {}), "Rules", set(parameters), {}, conditions)

    def check_parameter(self, name, parameter):
        path = f"Parameters.{name}"
        for key in sorted(set(parameter) - PARAMETER_KEYS):
            self.finding(f"{path}.{key}", "not a parameter key")
        ptype = parameter.get("Type")
        if ptype not in PARAMETER_TYPES and not str(ptype).startswith("AWS::"):
            self.finding(f"{path}.Type", f"{ptype!r} is not a parameter type")
        if "Default" not in parameter:
            return
        default = str(parameter["Default"])
        allowed = parameter.get("AllowedValues")
        if allowed is not None and default not in [str(v) for v in allowed]:
            self.finding(f"{path}.Default", f"{default!r} is not one of the AllowedValues")
        pattern = parameter.get("AllowedPattern")
        if pattern is not None and ptype == "String" and not re.fullmatch(pattern, default):
            self.finding(f"{path}.Default", f"{default!r} does not match the AllowedPattern")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec, sources = load_spec()
    failed = False
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            template = yaml.load(f, Loader=Loader)
        checker = Checker(spec)
        checker.check_template(template)
        for finding in checker.findings:
            print(f"{path}: {finding}", file=sys.stderr)
        if checker.findings:
            failed = True
        else:
            count = len(template.get("Resources", {}))
            print(f"{path}: valid ({count} resources checked against {sources[0].split(' (')[0]})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
