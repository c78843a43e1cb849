"""Risky calls end to end through the door, against the stand-in: an agent's call whose
answer carries a credential is denied (environment variables are read with their values
redacted), an acting read is at least held, a change that
weakens the audit is denied, and the stand-in's state, read behind the gateway's back,
shows that nothing ran. No test prints a secret: the values planted are compared, never shown."""
from __future__ import annotations

import json
import secrets

import botocore.exceptions
import pytest

from conftest import ring_fixture
from helpers import aws

door_ring = ring_fixture("awsrisky", aws=True, aws_approval=None)

ring = aws.door_fixture("door_ring")


env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)


def outcome(call):
    """'ran' and the answer's text, or 'held' / 'denied' / the error code."""
    try:
        return "ran", json.dumps(call(), default=str)
    except botocore.exceptions.ClientError as e:
        msg = e.response["Error"].get("Message", "")
        if "held for approval" in msg:
            return "held", ""
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403 and "not allowed" in msg or "denied" in msg.lower():
            return "denied", ""
        return e.response["Error"].get("Code", "error"), ""


def planted() -> str:
    return "planted-" + secrets.token_hex(12)


# --- answers that carry credentials: denied ----------------------------------------------

def test_codebuild_project_environment_variables_are_not_revealed(env, ring):
    secret = planted()
    name = "planted-" + secrets.token_hex(3)
    account = aws.standin(ring, "sts").get_caller_identity()["Account"]
    aws.standin(ring, "codebuild").create_project(
        name=name, source={"type": "S3", "location": "bucket/src.zip"}, artifacts={"type": "NO_ARTIFACTS"},
        serviceRole=f"arn:aws:iam::{account}:role/build",
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL",
                     "environmentVariables": [{"name": "DB_PASSWORD", "value": secret, "type": "PLAINTEXT"}]})
    how, text = outcome(lambda: aws.client(env, "codebuild").batch_get_projects(names=[name]))
    leaked = secret in text
    assert not leaked, "codebuild:BatchGetProjects answered the project's DB_PASSWORD in clear"
    assert how == "denied", how


def test_batch_job_definition_environment_is_not_revealed(env, ring):
    secret = planted()
    jd = aws.standin(ring, "batch").register_job_definition(
        jobDefinitionName="planted-" + secrets.token_hex(3), type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128,
                             "environment": [{"name": "API_TOKEN", "value": secret}]})
    how, text = outcome(lambda: aws.client(env, "batch").describe_job_definitions(jobDefinitionName=jd["jobDefinitionName"]))
    leaked = secret in text
    assert not leaked, "batch:DescribeJobDefinitions answered the container's API_TOKEN in clear"
    # The read runs, its variables' values redacted (an agent that deploys reads its
    # job definitions), their names kept.
    assert how == "ran", how
    assert "API_TOKEN" in text and "[REDACTED]" in text


def test_task_definition_and_function_environments_are_read_without_their_values(env, ring):
    secret = planted()
    family = "planted-" + secrets.token_hex(3)
    aws.standin(ring, "ecs").register_task_definition(
        family=family, containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128,
                                              "environment": [{"name": "DB_PASSWORD", "value": secret}]}])
    how, text = outcome(lambda: aws.client(env, "ecs").describe_task_definition(taskDefinition=family))
    assert secret not in text, "ecs:DescribeTaskDefinition answered the container's DB_PASSWORD in clear"
    assert how == "ran", how
    answer = json.loads(text)
    assert answer["taskDefinition"]["containerDefinitions"][0]["environment"] == [{"name": "DB_PASSWORD", "value": "[REDACTED]"}]
    aws.standin(ring, "lambda").update_function_configuration(FunctionName="patient-lookup",
                                                              Environment={"Variables": {"API_KEY": secret}})
    how, text = outcome(lambda: aws.client(env, "lambda").get_function_configuration(FunctionName="patient-lookup"))
    assert secret not in text, "lambda:GetFunctionConfiguration answered the function's API_KEY in clear"
    assert how == "ran", how
    assert json.loads(text)["Environment"]["Variables"] == {"API_KEY": "[REDACTED]"}



def test_appsync_api_keys_are_not_revealed(env, ring):
    direct = aws.standin(ring, "appsync")
    api = direct.create_graphql_api(name="probe" + secrets.token_hex(3), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    key = direct.create_api_key(apiId=api)["apiKey"]["id"]   # an AppSync API key's id is the key itself
    how, text = outcome(lambda: aws.client(env, "appsync").list_api_keys(apiId=api))
    leaked = key in text
    assert not leaked, "appsync:ListApiKeys answered the API key (its id is the x-api-key value)"
    assert how == "denied", how


def test_kms_decrypt_is_denied_like_a_decrypted_parameter(env, ring):
    # As ssm:GetParameter WithDecryption is (no-decrypted-parameters): an approver of a
    # kms:Decrypt would see only a blob.
    direct = aws.standin(ring, "kms")
    key = direct.create_key()["KeyMetadata"]["KeyId"]
    blob = direct.encrypt(KeyId=key, Plaintext=planted().encode())["CiphertextBlob"]
    how, _ = outcome(lambda: aws.client(env, "kms").decrypt(CiphertextBlob=blob))
    assert how == "denied", f"kms:Decrypt was {how}, not denied"
    how, _ = outcome(lambda: aws.client(env, "kms").generate_data_key(KeyId=key, KeySpec="AES_256"))
    assert how == "denied", f"kms:GenerateDataKey (a plaintext data key) was {how}, not denied"


# --- a read that acts: held ---------------------------------------------------------------

def test_dms_test_connection_does_not_run_unheld(env, ring):
    direct = aws.standin(ring, "dms")
    ri = direct.create_replication_instance(ReplicationInstanceIdentifier="planted-" + secrets.token_hex(3),
                                            ReplicationInstanceClass="dms.t3.micro")["ReplicationInstance"]["ReplicationInstanceArn"]
    ep = direct.create_endpoint(EndpointIdentifier="planted-" + secrets.token_hex(3), EndpointType="source", EngineName="postgres",
                                ServerName="db.example.org", Port=5432, DatabaseName="clinic", Username="u",
                                Password=planted())["Endpoint"]["EndpointArn"]
    before = len(direct.describe_connections().get("Connections", []))
    how, _ = outcome(lambda: aws.client(env, "dms").test_connection(ReplicationInstanceArn=ri, EndpointArn=ep))
    after = len(direct.describe_connections().get("Connections", []))
    assert how in ("held", "denied") and after == before, \
        f"dms:TestConnection (IAM: Read) was {how}; the stand-in's connection tests went {before} -> {after}"


# --- audit weakening: denied ---------------------------------------------------------------

def test_a_guardduty_auto_archive_filter_is_denied(env, ring):
    direct = aws.standin(ring, "guardduty")
    ids = direct.list_detectors()["DetectorIds"]
    det = ids[0] if ids else direct.create_detector(Enable=True)["DetectorId"]
    name = "probe" + secrets.token_hex(2)
    how, _ = outcome(lambda: aws.client(env, "guardduty").create_filter(
        DetectorId=det, Name=name, Action="ARCHIVE", FindingCriteria={"Criterion": {"severity": {"Gte": 0}}}))
    with pytest.raises(botocore.exceptions.ClientError):     # the stand-in has no such filter: it did not run
        direct.get_filter(DetectorId=det, FilterName=name)
    assert how == "denied", f"guardduty:CreateFilter with Action ARCHIVE (every finding archived) was {how}, not denied"


def test_disabling_alarm_actions_is_denied(env, ring):
    direct = aws.standin(ring, "cloudwatch")
    name = "probe-root-login-" + secrets.token_hex(3)
    direct.put_metric_alarm(AlarmName=name, MetricName="RootLogin", Namespace="CIS", Statistic="Sum", Period=300,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            AlarmActions=["arn:aws:sns:us-east-1:000000000000:security"])
    how, _ = outcome(lambda: aws.client(env, "cloudwatch").disable_alarm_actions(AlarmNames=[name]))
    assert direct.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is True
    assert how == "denied", f"monitoring:DisableAlarmActions was {how}, not denied"


def test_deleting_a_cis_metric_filter_is_denied(env, ring):
    direct = aws.standin(ring, "logs")
    group = "/audit/cloudtrail-" + secrets.token_hex(3)
    direct.create_log_group(logGroupName=group)
    direct.put_metric_filter(logGroupName=group, filterName="root-login", filterPattern='{ $.userIdentity.type = "Root" }',
                             metricTransformations=[{"metricName": "RootLogin", "metricNamespace": "CIS", "metricValue": "1"}])
    how, _ = outcome(lambda: aws.client(env, "logs").delete_metric_filter(logGroupName=group, filterName="root-login"))
    assert len(direct.describe_metric_filters(logGroupName=group)["metricFilters"]) == 1
    assert how == "denied", f"logs:DeleteMetricFilter was {how}, not denied"
