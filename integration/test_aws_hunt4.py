"""Hunt aws4: credentials written as a name/value pair (or a map entry) in an answer the
agent may read, XML answers as well as JSON ones. A structure of a key-like member that
names a credential (Name, Key, ParameterKey, ParameterName, OptionName, AttributeName,
OutputKey, …) and a value-like member (Value, ParameterValue, OutputValue, DefaultValue,
…): the value is redacted, in JSON and in XML (an XML map's entry is such a pair, too).
The pairs are the service model's (scripts/aws-tables' `pairs`) and, for documents
someone wrote, the names' own stem (`ParameterName`/`ParameterValue`).

Planted values are compared, never printed."""
from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import ring_fixture
from helpers import aws

default_ring = ring_fixture("awshunt4", aws=True, aws_approval=None)
ring = aws.door_fixture("default_ring")
env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)

SECRET = "Synth-Pa55-h4x7Qz"     # a password-like value, synthetic
PLAIN = "plain-setting-4411"      # a value under a name that is no credential: stays


def outcome(call):
    """("ran", answer text) or ("refused", code): a refusal or hold is no leak."""
    try:
        return "ran", json.dumps(call(), default=str)
    except botocore.exceptions.ClientError as e:
        return "refused", e.response["Error"]["Code"]


TEMPLATE = json.dumps({
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"DBPassword": {"Type": "String", "Default": SECRET},
                   "Tier": {"Type": "String", "Default": PLAIN}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "hunt4-q"}}},
    "Outputs": {"DBPasswordOut": {"Value": {"Ref": "DBPassword"}}, "TierOut": {"Value": {"Ref": "Tier"}}},
})


def seed_cloudformation(r):
    cf = aws.standin(r, "cloudformation")
    cf.create_stack(StackName="hunt4", TemplateBody=TEMPLATE,
                    Parameters=[{"ParameterKey": "DBPassword", "ParameterValue": SECRET},
                                {"ParameterKey": "Tier", "ParameterValue": PLAIN}])


def seed_rds(r):
    rds = aws.standin(r, "rds")
    rds.create_db_parameter_group(DBParameterGroupName="hunt4-pg", DBParameterGroupFamily="postgres15", Description="hunt4")
    rds.modify_db_parameter_group(DBParameterGroupName="hunt4-pg", Parameters=[
        {"ParameterName": "app.db_password", "ParameterValue": SECRET, "ApplyMethod": "immediate"},
        {"ParameterName": "work_mem", "ParameterValue": PLAIN, "ApplyMethod": "immediate"}])


def seed_sns(r):
    sns = aws.standin(r, "sns")
    arn = sns.create_platform_application(Name="hunt4-app", Platform="GCM", Attributes={
        "PlatformCredential": SECRET, "PlatformPrincipal": PLAIN})["PlatformApplicationArn"]
    return arn


def seed_s3(r):
    s3 = aws.standin(r, "s3")
    s3.create_bucket(Bucket="hunt4-config")
    s3.put_bucket_tagging(Bucket="hunt4-config", Tagging={"TagSet": [
        {"Key": "db_password", "Value": SECRET}, {"Key": "tier", "Value": PLAIN}]})


def seed_ec2(r):
    ec2 = aws.standin(r, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "db_password", "Value": SECRET}, {"Key": "tier", "Value": PLAIN}])
    return vpc


def seed_iam(r):
    iam = aws.standin(r, "iam")
    iam.create_role(RoleName="hunt4-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
                    Tags=[{"Key": "api_key", "Value": SECRET}, {"Key": "tier", "Value": PLAIN}])


@pytest.fixture(scope="module")
def planted(ring):
    out = {}
    for name, seed in [("cloudformation", seed_cloudformation), ("rds", seed_rds), ("sns", seed_sns), ("s3", seed_s3), ("ec2", seed_ec2), ("iam", seed_iam)]:
        out[name] = seed(ring)
    return out


def reads(env, planted):
    cf, rds = aws.client(env, "cloudformation"), aws.client(env, "rds")
    sns, s3, ec2, iam = aws.client(env, "sns"), aws.client(env, "s3"), aws.client(env, "ec2"), aws.client(env, "iam")
    return {
        "cloudformation.DescribeStacks": lambda: cf.describe_stacks(StackName="hunt4"),
        "cloudformation.GetTemplateSummary": lambda: cf.get_template_summary(StackName="hunt4"),
        "rds.DescribeDBParameters": lambda: rds.describe_db_parameters(DBParameterGroupName="hunt4-pg"),
        "sns.GetPlatformApplicationAttributes": lambda: sns.get_platform_application_attributes(
            PlatformApplicationArn=planted["sns"]),
        "sns.ListPlatformApplications": lambda: sns.list_platform_applications(),
        "s3.GetBucketTagging": lambda: s3.get_bucket_tagging(Bucket="hunt4-config"),
        "ec2.DescribeTags": lambda: ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [planted["ec2"]]}]),
        "ec2.DescribeVpcs": lambda: ec2.describe_vpcs(VpcIds=[planted["ec2"]]),
        "iam.ListRoleTags": lambda: iam.list_role_tags(RoleName="hunt4-role"),
        "iam.GetRole": lambda: iam.get_role(RoleName="hunt4-role"),
    }


READS = ["cloudformation.DescribeStacks", "cloudformation.GetTemplateSummary", "rds.DescribeDBParameters", "sns.GetPlatformApplicationAttributes", "sns.ListPlatformApplications",
         "s3.GetBucketTagging", "ec2.DescribeTags", "ec2.DescribeVpcs", "iam.ListRoleTags", "iam.GetRole"]


@pytest.mark.parametrize("read", READS)
def test_a_value_named_as_a_credential_is_not_answered_in_clear(ring, env, planted, read):
    kind, answer = outcome(reads(env, planted)[read])
    print(read, kind, "secret in answer:", SECRET in answer, "plain in answer:", PLAIN in answer)
    assert SECRET not in answer, f"{read}: a value whose name says credential came back in clear"
