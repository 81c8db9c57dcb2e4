"""packaging/check-template.py: template.yaml and its CloudFormation variant
pass, and each kind of mistake in a copy of template.yaml is caught, named by
its path in the template."""

import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "packaging", "check-template.py")
with open(os.path.join(ROOT, "template.yaml"), encoding="utf-8") as f:
    TEMPLATE = f.read()


def run_check(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        return subprocess.run([sys.executable, CHECK, f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)


class CheckTemplateTest(unittest.TestCase):
    def assert_caught(self, old, new, *expected):
        self.assertEqual(TEMPLATE.count(old), 1, old)
        result = run_check(TEMPLATE.replace(old, new))
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for part in expected:
            self.assertIn(part, result.stderr)

    def test_the_template_and_its_cloudformation_variant_pass(self):
        result = run_check(TEMPLATE)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("valid (", result.stdout)
        variant = subprocess.run([os.path.join(ROOT, "packaging", "cloudformation-template.sh"),
                                  "bucket", "secret-rotator.zip"], capture_output=True, text=True,
                                 check=True).stdout
        result = run_check(variant)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_an_unknown_property_of_a_resource(self):
        self.assert_caught("      RotateImmediatelyOnUpdate: !Ref RotateImmediatelyOnUpdate",
                           "      RotateImmediatelyOnUpdat: !Ref RotateImmediatelyOnUpdate",
                           "Resources.RotationSchedule.Properties.RotateImmediatelyOnUpdat: "
                           "not a property of this type")

    def test_an_unknown_property_of_a_property_type(self):
        self.assert_caught("        ScheduleExpression: !Ref ScheduleExpression",
                           "        ScheduleExpresion: !Ref ScheduleExpression",
                           "RotationSchedule.Properties.RotationRules.ScheduleExpresion")

    def test_an_unknown_property_of_the_sam_function_and_of_what_it_passes_on(self):
        self.assert_caught("      Handler: bootstrap", "      Handlr: bootstrap",
                           "RotationFunction.Properties.Handlr: not a property of "
                           "AWS::Serverless::Function")
        self.assert_caught("        LogFormat: JSON", "        LogFormats: JSON",
                           "RotationFunction.Properties.LoggingConfig.LogFormats")

    def test_an_unknown_property_inside_both_branches_of_fn_if(self):
        self.assert_caught("          SecurityGroupIds: !Ref SecurityGroupIds",
                           "          SecurityGroupId: !Ref SecurityGroupIds",
                           "RotationFunction.Properties.VpcConfig.SecurityGroupId")

    def test_a_value_outside_the_allowed_values(self):
        self.assert_caught("        LogFormat: JSON", "        LogFormat: XML",
                           "LoggingConfig.LogFormat: 'XML' is not one of")

    def test_a_missing_required_property(self):
        self.assert_caught("      Principal: secretsmanager.amazonaws.com\n", "",
                           "Resources.SecretsManagerInvokePermission.Properties: the required "
                           "property Principal is missing")

    def test_an_unknown_resource_type(self):
        self.assert_caught("    Type: AWS::Logs::LogGroup", "    Type: AWS::Logs::LogGroups",
                           "unknown resource type AWS::Logs::LogGroups")

    def test_references_to_what_is_not_defined(self):
        self.assert_caught("!Ref RotateImmediatelyOnUpdate", "!Ref RotateImmediately",
                           "Ref to 'RotateImmediately', which is not defined")
        self.assert_caught("!GetAtt RotationEventsRule.Arn", "!GetAtt RotationEventsRule.Name",
                           "AWS::Events::Rule has no attribute 'Name'")
        self.assert_caught("    Condition: HasAlarmEmail\n    Properties:\n      Subscription:",
                           "    Condition: HasAlarmMail\n    Properties:\n      Subscription:",
                           "'HasAlarmMail' is not defined")

    def test_a_parameter_default_outside_its_pattern(self):
        self.assert_caught("    Default: rate(30 days)\n",
                           "    Default: rate(30 days)\n    AllowedPattern: ^cron.*$\n",
                           "Parameters.ScheduleExpression.Default")


if __name__ == "__main__":
    unittest.main()
