"""AWS calls judged by the default call rules (docs/approval.md, "Rules for API calls"),
with the real aws CLI and boto3 through the whole ring against the stand-in: held calls
answer at once with the hold's id and reach nothing until an approver grants them, then
run once; denied calls never reach the stand-in (its state is checked behind the
gateway's back); lists and reads run at once. The differential check prints, for every
operation of the stand-in's services, the rule that decides it."""
from __future__ import annotations

import json
import sqlite3
import os
import re
import subprocess
import time
import uuid

import boto3
import botocore.config
import botocore.exceptions
import botocore.session
import pytest

from conftest import ring_fixture
from helpers import aws
from helpers.ring import REPO
from test_ring_approve import APPROVER, approve

# The default call rules on the AWS connection; the bucket, table and function of the seed
# (and this module's scratch table) are PHI by the masking policy's resources.
PHI_RESOURCES = [{"bucket": "clinic-exports"}, {"table": "Patients*"}, {"function": "patient-lookup"},
                 {"log_group": "/clinic/*"}]

policy_ring = ring_fixture("awspolicy", aws=True, aws_approval=None)


@pytest.fixture(scope="module")
def ring(policy_ring):
    def change(cfg):
        masking = cfg["connections"]["aws"].setdefault("masking", {})
        have = masking.setdefault("resources", [])
        for r in PHI_RESOURCES:
            if r not in have:
                have.append(r)
    policy_ring.reconfigure(change)
    aws.wait_door(policy_ring)
    return policy_ring


env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)


@pytest.fixture(scope="module")
def creds(env):
    return aws.credentials(env)


HOLD = re.compile(r"held for approval as (r-[0-9a-z-]+)")


def held_id(error: botocore.exceptions.ClientError) -> str:
    """The hold id from a held call's error; the error is one the SDK did not retry."""
    e = error.response["Error"]
    assert e["Code"] in ("AccessDenied", "AccessDeniedException"), e
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["ResponseMetadata"].get("RetryAttempts", 0) == 0
    m = HOLD.search(e["Message"])
    assert m, e["Message"]
    assert f"hoop-approve grant {m.group(1)}" in e["Message"]
    return m.group(1)


def hold_of(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return held_id(e.value)


def denied(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    err = e.value.response["Error"]
    assert err["Code"] in ("AccessDenied", "AccessDeniedException"), err
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not allowed" in err["Message"] and "held for approval" not in err["Message"], err["Message"]
    return err["Message"]


def scratch_table(ring, name: str, items: int = 0) -> None:
    """A table made in the stand-in directly (behind the gateway's back), `items` items of key k."""
    direct = aws.keyed_table(ring, name)
    for i in range(items):
        direct.put_item(TableName=name, Item={"k": {"S": f"item-{i:04d}"}})


def grant(ring, rid):
    r = approve(ring, "grant", rid)
    assert r.returncode == 0, r.stderr


# --- lists and reads -------------------------------------------------------------------

def test_lists_and_describes_run_at_once(env, ring):
    assert aws.client(env, "sts").get_caller_identity()["Arn"].startswith("arn:aws:sts::")
    assert "clinic-exports" in [b["Name"] for b in aws.client(env, "s3").list_buckets()["Buckets"]]
    assert "Patients" in aws.client(env, "dynamodb").list_tables()["TableNames"]
    assert aws.client(env, "dynamodb").describe_table(TableName="Patients")["Table"]["TableName"] == "Patients"
    r = aws.aws_cli(env, "ec2", "describe-instances", "--output", "json")
    assert r.returncode == 0, r.stderr
    assert len([i for res in json.loads(r.stdout)["Reservations"] for i in res["Instances"]]) >= 3


def test_a_bounded_read_of_a_phi_table_runs(env, ring):
    items = aws.client(env, "dynamodb").scan(TableName="Patients", Limit=5)["Items"]
    assert 0 < len(items) <= 5


# --- held: the hold id at once, nothing runs, an approver grants, it runs once ----------------

def instances(ring) -> int:
    out = aws.standin(ring, "ec2").describe_instances()
    return sum(len(r["Instances"]) for r in out["Reservations"])


def test_a_held_run_instances_runs_once_after_approval(env, ring):
    ec2 = aws.client(env, "ec2")
    image = aws.standin(ring, "ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    before = instances(ring)
    run = lambda: ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    rid = hold_of(run)
    assert instances(ring) == before, "a held RunInstances reached the stand-in"
    grant(ring, rid)
    assert len(run()["Instances"]) == 1
    assert instances(ring) == before + 1
    third = hold_of(run)
    assert third != rid
    assert instances(ring) == before + 1


def test_a_held_delete_table_runs_once_after_approval(env, ring):
    name = f"scratch-{uuid.uuid4().hex[:8]}"
    direct = aws.standin(ring, "dynamodb")
    scratch_table(ring, name)
    ddb = aws.client(env, "dynamodb")
    delete = lambda: ddb.delete_table(TableName=name)
    rid = hold_of(delete)
    assert name in direct.list_tables()["TableNames"], "a held DeleteTable reached the stand-in"
    grant(ring, rid)
    delete()
    assert name not in direct.list_tables()["TableNames"]
    assert hold_of(delete) != rid


def test_a_copy_out_of_the_phi_bucket_is_held_with_the_cli(env, ring):
    direct = aws.standin(ring, "s3")
    target = f"scratch-{uuid.uuid4().hex[:8]}"
    direct.create_bucket(Bucket=target)
    args = ("s3", "cp", "s3://clinic-exports/exports/patients.csv", f"s3://{target}/copy.csv")
    first = aws.aws_cli(env, *args)
    assert first.returncode != 0
    m = HOLD.search(first.stderr)
    assert m and "AccessDenied" in first.stderr, first.stderr
    assert direct.list_objects_v2(Bucket=target).get("KeyCount", 0) == 0, "a held copy reached the stand-in"
    grant(ring, m.group(1))
    again = aws.aws_cli(env, *args)
    assert again.returncode == 0, again.stderr
    assert direct.list_objects_v2(Bucket=target)["KeyCount"] == 1
    direct.delete_object(Bucket=target, Key="copy.csv")
    third = aws.aws_cli(env, *args)
    assert third.returncode != 0 and HOLD.search(third.stderr) and HOLD.search(third.stderr).group(1) != m.group(1)
    assert direct.list_objects_v2(Bucket=target).get("KeyCount", 0) == 0


def test_a_partiql_write_is_held_though_its_operation_reads(env, ring):
    # ExecuteStatement is one IAM action in the tables (PartiQLSelect, Read); an INSERT is a write.
    ddb = aws.client(env, "dynamodb")
    mrn = f"MRN-T{uuid.uuid4().hex[:6]}"
    stmt = f"INSERT INTO \"Patients\" VALUE {{'mrn': '{mrn}', 'note': 'scratch'}}"
    hold_of(lambda: ddb.execute_statement(Statement=stmt))
    assert "Item" not in aws.standin(ring, "dynamodb").get_item(TableName="Patients", Key={"mrn": {"S": mrn}})
    # A statement hidden behind a comment is still read by its verb.
    hold_of(lambda: ddb.execute_statement(Statement="/* select */ DELETE FROM \"Patients\" WHERE mrn = 'x'"))


def test_an_approved_scan_covers_its_pages(env, ring):
    # A scratch PHI table (Patients*) of 12 items: a scan without a Limit is held.
    name = f"PatientsScratch{uuid.uuid4().hex[:6]}"
    scratch_table(ring, name, items=12)
    ddb = aws.client(env, "dynamodb")
    scan = lambda **kw: ddb.scan(TableName=name, **kw)
    rid = hold_of(lambda: scan())   # no Limit: held
    grant(ring, rid)
    # The same call, paged by the SDK with the table's own tokens: the approval covers its pages.
    pages = list(ddb.get_paginator("scan").paginate(TableName=name))
    assert sum(len(p["Items"]) for p in pages) == 12
    # moto pages by size: at least the first page ran under the ticket; a repeat from the start is held again.
    assert hold_of(lambda: scan()) != rid


def test_pages_after_the_first_run_under_the_used_ticket(env, ring):
    name = f"PatientsPaged{uuid.uuid4().hex[:6]}"
    scratch_table(ring, name, items=1200)
    ddb = aws.client(env, "dynamodb")
    paged = lambda: list(ddb.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 1100}))
    rid = hold_of(paged)     # Limit 1100 > 1000 on a PHI table: held
    grant(ring, rid)
    pages = paged()
    assert len(pages) == 2 and sum(len(p["Items"]) for p in pages) == 1200
    # Each page once: the second page's token sent again is held, not run again.
    hold_of(lambda: ddb.scan(TableName=name, Limit=1100, ExclusiveStartKey=pages[0]["LastEvaluatedKey"]))
    # A page token alone, without a ticket used for the same call, runs nothing.
    start = pages[0]["LastEvaluatedKey"]
    other = f"PatientsOther{uuid.uuid4().hex[:6]}"
    scratch_table(ring, other)
    hold_of(lambda: ddb.scan(TableName=other, Limit=1100, ExclusiveStartKey=start))
    # And the approved listing from its start again: held again.
    assert hold_of(paged) != rid


def test_a_held_call_is_not_retried_by_the_sdks_in_any_protocol(env, ring):
    # The SDKs' own retry settings (standard mode, 5 attempts): a hold is answered with a
    # code they do not retry, in each protocol's format, and makes one hold only.
    config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5})
    session = boto3.Session()
    name = f"scratch-{uuid.uuid4().hex[:8]}"
    aws.standin(ring, "s3").create_bucket(Bucket=name)
    topic = aws.standin(ring, "sns").create_topic(Name=name)["TopicArn"]
    calls = {
        "json": lambda: session.client("dynamodb", config=config).put_item(TableName="Patients", Item={"mrn": {"S": "MRN-RETRY"}}),
        "rest-json": lambda: session.client("lambda", config=config).invoke(FunctionName="patient-lookup", Payload=b"{}"),
        "rest-xml": lambda: session.client("s3", config=config).delete_bucket(Bucket=name),
        "ec2": lambda: session.client("ec2", config=config).create_tags(Resources=["i-00000000"], Tags=[{"Key": "a", "Value": "b"}]),
        "query": lambda: session.client("sns", config=config).publish(TopicArn=topic, Message="hello"),
    }
    for proto, call in calls.items():
        before = len(pending_requests(ring))
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert e.value.response["ResponseMetadata"].get("RetryAttempts", 0) == 0, proto
        held_id(e.value)
        assert len(pending_requests(ring)) == before + 1, f"{proto}: a retry made another hold"


def pending_requests(ring) -> list:
    r = approve(ring, "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# --- denied: never reach the stand-in --------------------------------------------------

def test_iam_create_access_key_is_denied(env, ring):
    iam = aws.standin(ring, "iam")
    user = f"svc-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    denied(lambda: aws.client(env, "iam").create_access_key(UserName=user))
    r = aws.aws_cli(env, "iam", "create-access-key", "--user-name", user)
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []


def test_cloudtrail_stop_logging_is_denied(env, ring):
    s3, trail = aws.standin(ring, "s3"), aws.standin(ring, "cloudtrail")
    bucket, name = f"trail-{uuid.uuid4().hex[:8]}", f"trail-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    trail.create_trail(Name=name, S3BucketName=bucket)
    trail.start_logging(Name=name)
    denied(lambda: aws.client(env, "cloudtrail").stop_logging(Name=name))
    assert trail.get_trail_status(Name=name)["IsLogging"] is True


def test_put_bucket_policy_is_denied(env, ring):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                                  "Resource": "arn:aws:s3:::clinic-exports/*"}]})
    r = aws.aws_cli(env, "s3api", "put-bucket-policy", "--bucket", "clinic-exports", "--policy", policy)
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr
    with pytest.raises(botocore.exceptions.ClientError) as e:
        aws.standin(ring, "s3").get_bucket_policy(Bucket="clinic-exports")
    assert e.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


def test_secrets_and_role_passing_are_denied(env, ring):
    denied(lambda: aws.client(env, "secretsmanager").get_secret_value(SecretId="clinic/db-admin"))
    image = aws.standin(ring, "ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    before = instances(ring)
    denied(lambda: aws.client(env, "ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                                        IamInstanceProfile={"Name": "admin"}))
    assert instances(ring) == before


def test_headers_that_grant_access_are_judged_as_what_they_do(env, ring):
    # x-amz-acl on a PutObject needs s3:PutObjectAcl in IAM: denied, not held as a write.
    s3 = aws.client(env, "s3")
    key = f"scratch/{uuid.uuid4().hex[:8]}.txt"
    denied(lambda: s3.put_object(Bucket="clinic-exports", Key=key, Body=b"x", ACL="public-read"))
    denied(lambda: s3.put_object(Bucket="clinic-exports", Key=key, Body=b"x", GrantRead='id="abc"'))
    with pytest.raises(botocore.exceptions.ClientError):
        aws.standin(ring, "s3").head_object(Bucket="clinic-exports", Key=key)


def test_a_body_the_door_cannot_read_is_refused(env, ring, creds):
    # Duplicate members: a rule reading the one and a service reading the other must never
    # disagree, so the call is refused before any rule (here: a decrypted parameter).
    import botocore.auth
    import botocore.awsrequest
    import httpx
    body = b'{"Name":"/prod/db","WithDecryption":true,"WithDecryption":true}'
    req = botocore.awsrequest.AWSRequest(method="POST", url=aws.door_url(ring) + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"})
    botocore.auth.SigV4Auth(creds, "ssm", "us-east-1").add_auth(req)
    r = httpx.post(req.url, content=body, headers=dict(req.headers), verify=aws.ca(ring))
    assert r.status_code == 400 and "SerializationException" in r.text, r.text


def signed_json(ring, creds, service, target, doc):
    """A JSON call signed by botocore and sent as it is: (status, text)."""
    import botocore.auth
    import botocore.awsrequest
    import httpx
    body = json.dumps(doc).encode()
    req = botocore.awsrequest.AWSRequest(method="POST", url=aws.door_url(ring) + "/", data=body, headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(req)
    r = httpx.post(req.url, content=body, headers=dict(req.headers), verify=aws.ca(ring), timeout=30)
    return r.status_code, r.text


def test_a_json_body_that_also_reads_as_a_form_names_nothing_upstream(env, ring, creds):
    # moto (the stand-in) parses any body as a query string too and prefers its pairs: an
    # `&Action=...&` inside a JSON string ran DeleteTable inside an allowed DescribeTable,
    # and `&WithDecryption=true&` decrypted a parameter no rule saw asked for. The door
    # writes `&` and `;` in a JSON body as JSON escapes: the same JSON, no form.
    name = "Smuggle" + uuid.uuid4().hex[:6]
    d = aws.keyed_table(ring, name)
    status, text = signed_json(ring, creds, "dynamodb", "DynamoDB_20120810.DescribeTable",
                               {"TableName": name, "Note": "&Action=DeleteTable&"})
    assert name in d.list_tables()["TableNames"], f"DeleteTable ran ({status})"
    ssm = aws.standin(ring, "ssm")
    pname = "/smuggle/" + uuid.uuid4().hex[:6]
    secret = "s3cr3t-" + uuid.uuid4().hex[:6]
    ssm.put_parameter(Name=pname, Value=secret, Type="SecureString")
    status, text = signed_json(ring, creds, "ssm", "AmazonSSM.GetParameter", {"Name": pname, "Pad": "&WithDecryption=true&"})
    assert status == 200 and json.loads(text)["Parameter"]["Value"] != secret, f"the parameter came back decrypted ({status})"
    # A JSON string holding both bytes still means what it says.
    status, text = signed_json(ring, creds, "logs", "Logs_20140328.DescribeLogGroups", {"logGroupNamePrefix": "/none&x=1;y"})
    assert status == 200 and json.loads(text)["logGroups"] == [], text


def test_the_standins_own_api_is_not_reached_through_the_door(env, ring, creds):
    # moto's server answers /moto-api/... itself, whatever the service: to the door a
    # POST /moto-api/reset?select is an S3 SelectObjectContent (a read) of a bucket
    # "moto-api", and it wiped the stand-in; /moto-api/recorder/... hands out other
    # clients' calls. hoop-connect-aws forwards no such path to an endpoint override.
    import botocore.auth
    import botocore.awsrequest
    import httpx

    def signed(method, path, query="", body=b""):
        url = aws.door_url(ring) + path + ("?" + query if query else "")
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body)
        botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
        return httpx.request(method, url, content=body, headers=dict(req.headers), verify=aws.ca(ring), timeout=30)

    standin = aws.standin(ring, "s3")
    for path in ("/moto-api/reset", "/%6Doto-api/reset", "//MOTO-API/reset"):
        r = signed("POST", path, "select&select-type=2", b"<SelectObjectContentRequest/>")
        assert r.status_code >= 400, (path, r.status_code)
        assert "clinic-exports" in [b["Name"] for b in standin.list_buckets()["Buckets"]], path
    assert signed("GET", "/moto-api/").status_code >= 400


def test_no_aws_keys_for_a_connection_of_another_kind(env, ring):
    # The role's last path element names the connection: `.../hoop/clinic` (PostgreSQL) got
    # keys whose calls no upstream answered, each holding a door slot until it timed out.
    import urllib.parse
    import httpx
    token = open(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).read().strip()
    for connection, issued in (("clinic", False), ("no-such-connection", False), ("aws", True)):
        body = urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                       "RoleArn": f"arn:aws:iam::000000000000:role/hoop/{connection}",
                                       "RoleSessionName": "x", "WebIdentityToken": token})
        r = httpx.post(aws.door_url(ring) + "/", content=body, verify=aws.ca(ring), timeout=30,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        got_keys = "<Credentials>" in r.text
        assert got_keys == issued, (connection, r.status_code)
        if not issued:
            assert r.status_code == 403 and "AccessDenied" in r.text, (connection, r.status_code)


# --- the audit trail and the approvers' view ----------------------------------------------

def test_the_audit_trail_shows_held_denied_and_approved_calls_with_their_approvers(env, ring):
    ddb = aws.client(env, "dynamodb")
    name = f"scratch-{uuid.uuid4().hex[:8]}"
    scratch_table(ring, name)
    rid = hold_of(lambda: ddb.delete_table(TableName=name))
    # The approver reads the call: the operation, its IAM action and level, what it acts on.
    shown = approve(ring, "show", rid)
    assert shown.returncode == 0, shown.stderr
    assert "dynamodb:DeleteTable (IAM dynamodb:DeleteTable, Write)" in shown.stdout and f"TableName: {name}" in shown.stdout
    assert "fingerprint: sha256:" in shown.stdout
    listed = approve(ring, "list")
    assert f"dynamodb:DeleteTable on dynamodb:TableName/{name}" in listed.stdout, listed.stdout
    grant(ring, rid)
    ddb.delete_table(TableName=name)
    denied(lambda: aws.client(env, "iam").create_access_key(UserName="nobody"))
    # The approver's decision reaches the trail on the decision clock's next tick.
    deadline = time.monotonic() + 20
    while True:
        with ring.audit() as db:
            frames = [json.loads(r["f"]) for r in db.execute(
                "SELECT CAST(frame AS TEXT) AS f FROM frames WHERE type IN ('hold', 'approved', 'decision', 'deny') ORDER BY id")]
        if any(f["type"] == "decision" and f.get("request_id") == rid for f in frames) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    hold = [f for f in frames if f["type"] == "hold" and f.get("request_id") == rid]
    assert hold and hold[0]["detached"] is True and hold[0]["classification"]["action"] == "dynamodb:DeleteTable"
    decision = [f for f in frames if f["type"] == "decision" and f.get("request_id") == rid]
    assert decision and decision[0]["approver"]["user"] == APPROVER, decision
    ran = [f for f in frames if f["type"] == "approved" and f.get("request_id") == rid]
    assert ran, "the run of the ticket is not linked to its hold"
    deny = [f for f in frames if f["type"] == "deny" and f.get("reason") == "policy"
            and (f.get("classification") or {}).get("iam_action") == "iam:CreateAccessKey"]
    assert deny and deny[-1]["rule"] == "no-permissions-management"
    # hoop-audit shows them in the session's story.
    out = ring.hoop("audit", "show", hold[0]["session"])
    assert out.returncode == 0, out.stderr
    assert rid in out.stdout and APPROVER in out.stdout, out.stdout


# --- the differential check of the rules -------------------------------------------------------

def standin_services() -> list[str]:
    """The services moto's server answers, by botocore's signing names."""
    from moto.backends import list_of_moto_modules
    session = boto3.Session()
    names = set()
    botocore_names = set(session.get_available_services())
    for module in list_of_moto_modules():
        name = module.replace("_", "-")
        for candidate in (name, module, {"awslambda": "lambda", "ec2instanceconnect": "ec2-instance-connect",
                                         "cognitoidp": "cognito-idp", "cognitoidentity": "cognito-identity",
                                         "elbv2": "elbv2", "s3control": "s3control"}.get(module, "")):
            if candidate in botocore_names:
                model = session._session.get_service_model(candidate)
                names.add(model.metadata.get("signingName") or model.metadata["endpointPrefix"])
                break
    return sorted(names)


def test_no_write_permissions_or_tagging_operation_is_allowed_by_the_default_rules(ring, tmp_path):
    services = standin_services()
    assert {"s3", "dynamodb", "lambda", "logs", "ec2", "iam", "kms", "cloudtrail", "secretsmanager"} <= set(services)
    r = subprocess.run([os.path.join(os.environ.get("HOOP_BIN", str(REPO / ".build/release")), "hoop-approve"), "calls", "--config", str(ring.var / "hoop.json"),
                        "--connection", "aws", "--user", "agent@example.org", "--groups", "agents", "--agent",
                        "--services", *services], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    verdicts = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(verdicts) > 3000
    # The table, printed: each operation, its access level, the rule that decides it.
    report = tmp_path / "aws-rules.txt"
    report.write_text("".join(f"{v['service']:<22} {v['operation']:<48} {v['access'] or '(unknown)':<24} "
                              f"{v['verdict']:<7} {v['rule']}\n" for v in verdicts))
    print(f"\nthe default call rules over {len(verdicts)} operations of {len(services)} services: {report}")
    allowed = [v for v in verdicts if v["verdict"] == "allow"]
    assert not [v for v in allowed if v["access"] not in ("List", "Read")], \
        [f"{v['service']}:{v['operation']}" for v in allowed if v["access"] not in ("List", "Read")][:20]
    # Every level is decided by a rule written for it, and unknown operations never pass.
    assert all(v["verdict"] == "deny" for v in verdicts if v["access"] == "Permissions management")
    assert all(v["verdict"] != "allow" for v in verdicts if v["access"] == "")
    assert {v["verdict"] for v in verdicts if v["access"] in ("Write", "Tagging")} <= {"review", "deny"}
    # Answers that carry credentials (generated from botocore's sensitive members) never pass.
    secret = [v for v in verdicts if v["reveals_secrets"]]
    assert len(secret) > 100 and all(v["verdict"] == "deny" for v in secret)
    assert {"ssm:GetAccessToken", "ec2:GetPasswordData"} <= {f"{v['service']}:{v['operation']}" for v in secret}


def test_answers_with_a_credential_by_its_name_never_pass(ring):
    # botocore marks some credentials sensitive and not others: a member whose own name is
    # a credential's (a secret access key, an authorization token, an embed or presigned
    # URL signed with the gateway's keys, a Credentials structure) reveals secrets too,
    # whatever the flag; NextToken, ChangeToken or a role ARN named `credentials` do not.
    r = subprocess.run([os.path.join(os.environ.get("HOOP_BIN", str(REPO / ".build/release")), "hoop-approve"), "calls",
                        "--config", str(ring.var / "hoop.json"), "--connection", "aws", "--user", "agent@example.org",
                        "--groups", "agents", "--agent", "--services", "ecr-public", "lakeformation", "quicksight", "route53",
                        "apigateway", "codebuild", "batch", "kms", "appsync", "ec2"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    verdicts = {f"{v['service']}:{v['operation']}": v for v in map(json.loads, r.stdout.splitlines())}
    # Also: a key's plaintext (KMS), a sensitive member under an operation named for a key
    # or a secret's word on its path (a VPN's sample configuration holds its pre-shared
    # keys). Environment variables alone are redacted by hoop-mask, not denied.
    for op in ("ecr-public:GetAuthorizationToken", "lakeformation:GetTemporaryGlueTableCredentials",
               "lakeformation:GetTemporaryDataLocationCredentials", "quicksight:GenerateEmbedUrlForRegisteredUser",
               "codebuild:BatchGetProjects", "kms:Decrypt", "kms:GenerateDataKey",
               "ec2:GetVpnConnectionDeviceSampleConfiguration"):
        assert verdicts[op]["reveals_secrets"] and verdicts[op]["verdict"] == "deny", op
    for op in ("route53:GetChange", "route53:ListHostedZones", "apigateway:GetIntegration", "codebuild:ListProjects",
               "kms:DescribeKey", "ec2:DescribeInstances"):
        assert not verdicts[op]["reveals_secrets"], op
    # The table names each model by its service (a loop over header members once wrote
    # their wire names there: lambda's was x-amz-tenant-id).
    table = json.loads((REPO / "generated/aws-operations.json").read_text())
    assert all(m["service"] in botocore.session.get_session().get_available_services()
               for models in table["services"].values() for m in models)


def test_a_limit_the_service_reads_as_none_and_a_partiql_where_are_held(env, ring, creds):
    # Scan's Limit bounds a read of a PHI table only as a number from 1 to 1000: the
    # stand-in reads -1 and 0 as no limit (the SDKs never send them; a hand-made call does).
    for limit in (-1, 0, "all"):
        status, text = signed_json(ring, creds, "dynamodb", "DynamoDB_20120810.Scan", {"TableName": "Patients", "Limit": limit})
        assert status != 200 and "held for approval" in text and "Items" not in text, f"Limit {limit!r}: {status}"
    # A WHERE on a PHI table is a filter: with Limit 1 it still answers whether any SSN
    # begins with a guess, as a Scan's FilterExpression would (held alike).
    ddb = aws.client(env, "dynamodb")
    hold_of(lambda: ddb.execute_statement(Statement="SELECT mrn FROM \"Patients\" WHERE begins_with(ssn, '3')", Limit=1))


def test_headers_the_operation_does_not_read_are_not_forwarded(env, ring):
    # moto reads a REST call's headers as its parameters when it has no query or body, an
    # `Action` or `X-Amz-Target` first: a signed `Action: DeleteFunctionConcurrency` on an
    # allowed GetFunctionConcurrency ran the delete (and the audit trail said the read).
    # The door forwards only the operation's own header members and the protocol's.
    import io
    import zipfile
    lam = aws.standin(ring, "lambda")
    name = "scratch-" + uuid.uuid4().hex[:6]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "def handler(e, c):\n    return 1\n")
    role = aws.standin(ring, "iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": code.getvalue()})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    for header, value in (("Action", "DeleteFunctionConcurrency"), ("X-Amz-Target", "AWSLambda.DeleteFunctionConcurrency")):
        c = aws.client(env, "lambda")
        c.meta.events.register_first("before-sign.lambda.GetFunctionConcurrency",
                                     lambda request, **_: request.headers.__setitem__(header, value))
        try:
            assert c.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") == 3, header
        except botocore.exceptions.ClientError as e:   # or refused: a target no REST operation has
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, header
        assert lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") == 3, \
            f"DeleteFunctionConcurrency ran under GetFunctionConcurrency ({header})"
    # What was recorded is what was forwarded: no such header in the call frame.
    db = sqlite3.connect(ring.var / "audit.sqlite")
    try:
        frames = [json.loads(f) for (f,) in db.execute("SELECT frame FROM frames WHERE type = 'call' ORDER BY id DESC LIMIT 1")]
    finally:
        db.close()
    assert all(f["action"] == "GetFunctionConcurrency" and not {"action", "x-amz-target"} & set(f["headers"]) for f in frames)
    lam.delete_function(FunctionName=name)
