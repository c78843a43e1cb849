"""The embedded default call rules over every operation of the generated table (all
services, not only the stand-in's), as an agent's calls: answers that carry credentials,
plaintext keys and bearer URLs denied; "reads" that run code or act held; changes that
weaken the audit, and grants to other principals or accounts, denied. A failure lists the
misjudged operations (names only)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import ring_fixture
from helpers.ring import REPO

APPROVE = os.path.join(os.environ.get("HOOP_BIN", str(REPO / ".build/release")), "hoop-approve")
AGENT = ["--connection", "aws", "--user", "agent@example.org", "--groups", "agents", "--agent"]


def verdicts(ring) -> dict[str, dict]:
    """Every operation of the generated table (all services), judged as an agent's call."""
    r = subprocess.run([APPROVE, "calls", "--config", str(ring.var / "hoop.json"), *AGENT],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out: dict[str, dict] = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        out.setdefault(f"{v['service']}:{v['operation']}", v)
    return out


def judge(ring, calls: list[dict]) -> list[dict]:
    """`call` objects as a door writes them, judged by the connection's rules."""
    r = subprocess.run([APPROVE, "calls", "--config", str(ring.var / "hoop.json"), *AGENT, "--stdin"],
                       input="".join(json.dumps(c) + "\n" for c in calls), capture_output=True, text=True,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return [json.loads(line) for line in r.stdout.splitlines()]


def wrong(verdicts: dict[str, dict], names, want: set[str]) -> list[str]:
    """The operations of `names` whose verdict is not one of `want` (name verdict rule)."""
    missing = [n for n in names if n not in verdicts]
    assert not missing, f"not in the generated table: {missing}"
    return [f"{n} {verdicts[n]['access'] or '(unknown)'} -> {verdicts[n]['verdict']} ({verdicts[n]['rule']})"
            for n in names if verdicts[n]["verdict"] not in want]


table_ring = ring_fixture("awsrules", aws=True, aws_approval=None)


@pytest.fixture(scope="module")
def table(table_ring):
    return verdicts(table_ring)


# Answers that carry credentials (reveals_secrets).
SECRET_READS = [
    "codebuild:BatchGetProjects",                                        # a source's credentials, besides its variables
    "apprunner:DescribeService",                                         # a sensitive member besides its variables
    "appsync:ListApiKeys",                                               # an AppSync API key's id is the key
    "ivs:GetStreamKey", "ivs:BatchGetStreamKey",                         # the stream key (sensitive `value`)
    "geo:DescribeKey",                                                   # an Amazon Location API key (sensitive `Key`)
    "route53globalresolver:GetAccessToken",                              # the token (sensitive `value`)
    "redshift-serverless:GetIdentityCenterAuthToken",                    # a token (denied for redshift, not here)
    "cloudhsm:DescribeClusters",                                         # PreCoPassword
    "directconnect:DescribeVirtualInterfaces",                           # BGP authKey
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",  # OIDC ClientSecret
    "codepipeline:ListWebhooks",                                         # webhook SecretToken
    "ec2:GetVpnConnectionDeviceSampleConfiguration",                     # the tunnels' pre-shared keys (DescribeVpnConnections is denied)
    "autoscaling:DescribeLaunchConfigurations",                          # UserData (ec2's launch template user data is denied)
    "elasticmapreduce:DescribeCluster",                                  # KerberosAttributes.KdcAdminPassword
    "invoicing:GetProcurementPortalPreference",                          # ProcurementPortalSharedSecret
    "finspace:GetKxConnectionString",                                    # a signed connection string
]

# Denied, not only held: a plaintext key, a decrypted
# value, a private key, an impersonation token, a bearer URL.
SECRET_WRITES = [
    "kms:Decrypt", "kms:GenerateDataKey", "payment-cryptography:DecryptData",
    "lightsail:DownloadDefaultKeyPair", "lightsail:CreateKeyPair", "workmail:AssumeImpersonationRole",
    "devicefarm:CreateTestGridUrl", "grafana:CreateWorkspaceApiKey", "ivs:CreateStreamKey", "geo:CreateKey",
    "appsync:CreateApiKey", "codebuild:StartSandboxConnection",
]

# "Reads" by IAM's level that run code or act on the outside: held.
ACTING_READS = [
    "iot:TestInvokeAuthorizer",              # invokes the custom authorizer's Lambda function
    "transfer:TestIdentityProvider",         # invokes the identity provider (a Lambda function or API Gateway)
    "workmail:TestAvailabilityConfiguration",  # invokes the availability provider's Lambda / EWS with credentials
    "dms:TestConnection",                    # the replication instance connects to the endpoint with its stored password
    "qbusiness:ChatSync", "qbusiness:Chat",  # may execute plugin actions (actionExecution) in third-party systems
    "config:DeliverConfigSnapshot",          # delivers the configuration snapshot to the delivery channel's bucket
]

# Changes that weaken the audit: denied.
AUDIT_WEAKENING = [
    "cloudtrail:StopEventDataStoreIngestion", "cloudtrail:UpdateEventDataStore", "cloudtrail:DeleteChannel",
    "cloudtrail:PutInsightSelectors", "cloudtrail:DeregisterOrganizationDelegatedAdmin", "cloudtrail-data:PutAuditEvents",
    "logs:DeleteMetricFilter", "logs:PutTransformer", "logs:DeleteTransformer", "logs:PutLogGroupDeletionProtection",
    "logs:DisassociateKmsKey", "logs:PutAccountPolicy", "logs:DeleteAccountPolicy", "logs:PutSubscriptionFilter",
    "logs:DeleteDeliverySource", "logs:DeleteDelivery",
    "config:PutConfigurationRecorder", "config:DeleteServiceLinkedConfigurationRecorder", "config:DisassociateResourceTypes",
    "config:PutDeliveryChannel", "config:PutRetentionConfiguration", "config:DeleteRetentionConfiguration",
    "config:DeleteConfigRule", "config:DeleteConformancePack", "config:DeleteOrganizationConfigRule", "config:DeleteEvaluationResults",
    "guardduty:CreateFilter", "guardduty:UpdateFilter", "guardduty:ArchiveFindings", "guardduty:CreateIPSet", "guardduty:UpdateIPSet",
    "guardduty:CreateTrustedEntitySet", "guardduty:UpdateMemberDetectors", "guardduty:UpdateOrganizationConfiguration",
    "guardduty:DisableOrganizationAdminAccount", "guardduty:UpdateMalwareScanSettings",
    "securityhub:BatchDisableStandards", "securityhub:BatchUpdateFindings", "securityhub:UpdateFindings",
    "securityhub:CreateAutomationRule", "securityhub:CreateAutomationRuleV2", "securityhub:UpdateStandardsControl",
    "securityhub:BatchUpdateStandardsControlAssociations", "securityhub:UpdateSecurityControl",
    "securityhub:DisassociateFromAdministratorAccount", "securityhub:DisassociateFromMasterAccount",
    "securityhub:UpdateSecurityHubConfiguration", "securityhub:DeleteFindingAggregator",
    "access-analyzer:CreateArchiveRule", "access-analyzer:UpdateArchiveRule", "access-analyzer:ApplyArchiveRule",
    "access-analyzer:UpdateFindings",
    "macie2:UpdateMacieSession", "macie2:DisassociateFromAdministratorAccount", "macie2:CreateFindingsFilter",
    "inspector2:CreateFilter", "inspector2:DisableDelegatedAdminAccount", "inspector2:DisassociateMember",
    "detective:DeleteGraph", "detective:DisassociateMembership",
    "monitoring:DisableAlarmActions", "monitoring:PutAlarmMuteRule", "monitoring:DeleteAlarms", "monitoring:SetAlarmState",
    "kms:DeleteImportedKeyMaterial", "kms:DisconnectCustomKeyStore", "kms:DeleteCustomKeyStore",
    "securitylake:DeleteDataLake", "securitylake:DeleteAwsLogSource",
]


def test_answers_that_carry_credentials_are_denied(table):
    bad = wrong(table, SECRET_READS, {"deny"})
    assert not bad, f"{len(bad)} calls whose answers carry credentials are not denied:\n" + "\n".join(bad)


# Reads whose answers hold environment variables (where deployments keep passwords) and
# nothing else secret: allowed, hoop-mask redacting every value under the members the
# table lists (`environment`, from botocore's models; JSON protocols only).
ENV_READS = [
    "lambda:GetFunctionConfiguration", "lambda:ListFunctions", "ecs:DescribeTaskDefinition",
    "batch:DescribeJobDefinitions", "batch:DescribeJobs", "sagemaker:DescribeModel", "codebuild:BatchGetBuilds",
    "appsync:GetGraphqlApiEnvironmentVariables",
]


def test_reads_of_environment_variables_are_allowed_with_their_values_redacted(table):
    bad = wrong(table, ENV_READS, {"allow"})
    assert not bad, f"{len(bad)} reads of configurations with environment variables are not allowed:\n" + "\n".join(bad)
    ops = json.loads((REPO / "generated/aws-operations.json").read_text())["services"]
    listed = {f"{m['service']}:{op}": e for models in ops.values() for m in models for op, e in m["operations"].items()}
    assert all(listed[n].get("environment") and not listed[n].get("reveals_secrets") for n in ENV_READS)


def test_plaintext_keys_decrypted_values_and_bearer_urls_are_denied(table):
    bad = wrong(table, SECRET_WRITES, {"deny"})
    assert not bad, f"{len(bad)} calls that return a key, a plaintext or a bearer credential are not denied:\n" + "\n".join(bad)


def test_reads_that_run_code_or_act_are_not_allowed(table):
    bad = wrong(table, ACTING_READS, {"review", "deny"})
    assert not bad, f"{len(bad)} acting 'reads' are allowed:\n" + "\n".join(bad)


def test_audit_weakening_is_denied(table):
    bad = wrong(table, AUDIT_WEAKENING, {"deny"})
    assert not bad, f"{len(bad)} calls that weaken the audit are not denied:\n" + "\n".join(bad)


def test_permission_changes_that_policy_sentry_calls_write_are_denied(table_ring):
    # As a door writes them: with their parameters (sets_policy looks for a member named as
    # a policy document; these carry the grant under other names).
    calls = [
        {"signing_name": "serverlessrepo", "action": "PutApplicationPolicy", "iam_action": "serverlessrepo:PutApplicationPolicy",
         "access": "Write", "params": {"ApplicationId": "arn:aws:serverlessrepo:us-east-1:000000000000:applications/app",
                                       "Statements": [{"Actions": ["Deploy"], "Principals": ["*"]}]}},
        {"signing_name": "logs", "action": "PutDeliveryDestinationPolicy", "iam_action": "logs:PutDeliveryDestinationPolicy",
         "access": "Write", "params": {"deliveryDestinationName": "d",
                                       "deliveryDestinationPolicy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\"}]}"}},
        {"signing_name": "appstream", "action": "UpdateImagePermissions", "iam_action": "appstream:UpdateImagePermissions",
         "access": "Write", "params": {"Name": "img", "SharedAccountId": "111122223333",
                                       "ImagePermissions": {"allowFleet": True, "allowImageBuilder": True}}},
    ]
    out = judge(table_ring, calls)
    bad = [f"{v['service']}:{v['operation']} -> {v['verdict']} ({v['rule']})" for v in out if v["verdict"] != "deny"]
    assert not bad, f"{len(bad)} grants of access to other principals or accounts are not denied:\n" + "\n".join(bad)
