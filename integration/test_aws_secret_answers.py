"""Answers that hand out what masking cannot take back (hunt s43), judged by the default
call rules and masked by hoop-mask:

- A presigned URL is signed with the gateway's own keys: fetched outside the gateway it
  reads the object with no masking and no audit of what came back. A device's unlock code
  opens its data the same way. scripts/aws-tables marks every operation whose answer holds
  one `reveals_secrets` (a member named, or documented by botocore, as a presigned or
  signed URL, a URL-shaped member of a structure so named or documented, an unlock code),
  and the default rule `no-secret-answers` denies them; a URL that is not signed stays a
  read.
- An answer that is an image (ec2:GetConsoleScreenshot's base64 JPEG, a video frame, a
  medical image frame) passes hoop-mask unread: the default rules hold it
  (`review-image-answers`), for every operation the table marks `answers_image`.
- Secrets in configuration come back in clear through allowed reads: an EMR step's
  arguments (`--db-password VALUE`) and properties (`javax.jdo.option.ConnectionPassword`).
  hoop-mask redacts the value after a flag named as a credential, and the value of a map
  key so named, in any JSON answer.

Planted values are compared, never printed. HOOP_AWS_OPERATIONS names another table to
judge (default: generated/aws-operations.json)."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import secrets
import subprocess
from pathlib import Path

import botocore.exceptions
import botocore.session
import pytest

from conftest import ring_fixture
from helpers import aws

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("HOOP_BIN", ROOT / ".build/release"))
TABLE = Path(os.environ.get("HOOP_AWS_OPERATIONS", ROOT / "generated/aws-operations.json"))

# (signing name, operation, what its answer holds): the hunt's findings.
PRESIGNED = [
    ("auditmanager", "GetAssessmentReportUrl", "preSignedUrl.link: presigned S3 URL of the assessment report"),
    ("amplify", "GetArtifactUrl", "artifactUrl: presigned URL of a build artifact"),
    ("lex", "GetTestExecutionArtifactsUrl", "downloadArtifactsUrl: presigned S3 URL of test transcripts"),
    ("m2", "GetSignedBluinsightsUrl", "signedBiUrl: signed dashboard URL"),
    ("snowball", "GetJobManifest", "ManifestURI: presigned URL of the device manifest"),
    ("snowball", "GetJobUnlockCode", "UnlockCode: with the manifest, unlocks the device's data"),
]
# Reads whose answer holds a URL that is not signed (a queue's, a function URL, a clone
# URL, a repository's URI): they stay reads.
UNSIGNED_URL_READS = [
    ("sqs", "GetQueueUrl"), ("lambda", "GetFunctionUrlConfig"), ("codecommit", "GetRepository"),
    ("ecr", "DescribeRepositories"), ("cloudformation", "DescribeStacks"), ("lambda", "GetFunctionConfiguration"),
]
# Answers that are no image, though they hold bytes or a member named like one.
NOT_IMAGES = [("s3", "GetObject"), ("dynamodbstreams", "GetRecords"), ("sqs", "ReceiveMessage"), ("ec2", "GetConsoleOutput"),
              ("ec2", "DescribeImages")]


def table() -> dict:
    return json.loads(TABLE.read_text())


def operation(t: dict, sig: str, name: str) -> dict:
    for s in t["services"].get(sig, []):
        o = s["operations"].get(name)
        if o:
            return o
    pytest.fail(f"{sig}:{name} is not in the generated table")


def config(tmp_path: Path) -> Path:
    key = tmp_path / "k"
    key.write_text("x" * 40)
    cfg = {"connections": {"aws": {"kind": "aws", "region": "us-east-1", "endpoint": "http://127.0.0.1:1",
                                   "access_key_id_file": str(key), "secret_access_key_file": str(key),
                                   "allow": [{"groups": ["agents"], "kind": "agent"}],
                                   "masking": {"default": "redact", "hash_key": {"file": str(key)},
                                               "resources": [{"bucket": "clinic-exports"}]},
                                   "approval": {"approvers": {"groups": ["approvers"]}}}},
           "aws_door": {"operations_file": str(TABLE), "key_file": str(key), "port": 1},
           "approval": {"store": {"sqlite": str(tmp_path / "a.sqlite")}}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    return tmp_path / "cfg.json"


def approve_calls(tmp_path: Path, *args: str, stdin: str | None = None) -> list[dict]:
    r = subprocess.run([str(BIN / "hoop-approve"), "calls", "--config", str(config(tmp_path)), "--agent", "--groups", "agents",
                        *args], input=stdin, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def every_verdict(tmp_path_factory) -> dict[str, dict]:
    """Every operation of the table, as the door writes its call (no parameters)."""
    out = {}
    for v in approve_calls(tmp_path_factory.mktemp("calls"), "--table", str(TABLE)):
        out.setdefault(f"{v['service']}:{v['operation']}", v)
    return out


def judge(tmp_path: Path, sig: str, name: str) -> dict:
    o = operation(table(), sig, name)
    call = {"signing_name": sig, "action": name, "iam_action": o["iam"], "access": o["access"], "params": {},
            "reveals_secrets": bool(o.get("reveals_secrets")), "answers_image": bool(o.get("answers_image"))}
    (v,) = approve_calls(tmp_path, "--stdin", stdin=json.dumps(call) + "\n")
    return v


# ---- the generator (scripts/aws-tables), on botocore's models


def generator():
    loader = importlib.machinery.SourceFileLoader("aws_tables", str(ROOT / "scripts/aws-tables"))
    spec = importlib.util.spec_from_loader("aws_tables", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return generator(), botocore.session.get_session()


def output(session, sig: str, name: str):
    service = {"lex": "lexv2-models"}.get(sig, sig)
    return session.get_service_model(service).operation_model(name).output_shape


@pytest.mark.parametrize("sig,name,why", PRESIGNED, ids=[f"{a}:{b}" for a, b, _ in PRESIGNED])
def test_the_generator_marks_presigned_urls_and_unlock_codes(gen, sig, name, why):
    g, session = gen
    assert g.reveals_secrets(output(session, sig, name), (name,)), f"{sig}:{name} not reveals_secrets; its answer: {why}"


@pytest.mark.parametrize("sig,name", UNSIGNED_URL_READS, ids=[f"{a}:{b}" for a, b in UNSIGNED_URL_READS])
def test_the_generator_leaves_urls_that_are_not_signed(gen, sig, name):
    g, session = gen
    assert not g.reveals_secrets(output(session, sig, name), (name,), environments=set())


def test_the_generator_marks_image_answers(gen):
    g, session = gen
    assert g.answers_image(output(session, "ec2", "GetConsoleScreenshot"))
    for sig, name in NOT_IMAGES:
        assert not g.answers_image(output(session, sig, name)), f"{sig}:{name} marked as an image answer"


# ---- the default call rules, on the generated table


@pytest.mark.parametrize("sig,name,why", PRESIGNED, ids=[f"{a}:{b}" for a, b, _ in PRESIGNED])
def test_presigned_url_or_unlock_code_is_denied(tmp_path, sig, name, why):
    v = judge(tmp_path, sig, name)
    assert v["verdict"] == "deny", f"{sig}:{name} -> {v['verdict']} ({v['rule']}); its answer: {why}"


@pytest.mark.parametrize("sig,name", UNSIGNED_URL_READS, ids=[f"{a}:{b}" for a, b in UNSIGNED_URL_READS])
def test_a_url_that_is_not_signed_stays_a_read(tmp_path, sig, name):
    v = judge(tmp_path, sig, name)
    assert v["verdict"] == "allow", f"{sig}:{name} -> {v['verdict']} ({v['rule']})"


def test_console_screenshot_is_held(tmp_path):
    """ec2:GetConsoleScreenshot answers a JPEG of the instance's screen (base64 in
    ImageData): bytes that are no text pass hoop-mask unread."""
    v = judge(tmp_path, "ec2", "GetConsoleScreenshot")
    assert v["verdict"] != "allow", f"ec2:GetConsoleScreenshot runs without a hold ({v['rule']})"


def test_no_operation_whose_answer_is_an_image_is_allowed(every_verdict):
    """Every operation the generated table marks `answers_image` is held or denied (the
    door carries the fact in the call frame; review-image-answers reads it)."""
    t = table()
    marked = sorted(f"{sig}:{n}" for sig, services in t["services"].items() for s in services
                    for n, o in s["operations"].items() if o.get("answers_image"))
    assert "ec2:GetConsoleScreenshot" in marked
    allowed = [f"{n} ({every_verdict[n]['rule']})" for n in marked if every_verdict[n]["verdict"] == "allow"]
    assert not allowed, f"image answers allowed: {allowed}"
    # Holding them loosens nothing: one of no known access level is still denied.
    unknown = [f"{n} -> {every_verdict[n]['verdict']}" for n in marked
               if not every_verdict[n]["access"] and every_verdict[n]["verdict"] != "deny"]
    assert not unknown, f"image answers of no known level not denied: {unknown}"


def test_every_answer_that_reveals_secrets_is_denied(every_verdict):
    wrong = [f"{n} -> {v['verdict']} ({v['rule']})" for n, v in every_verdict.items()
             if v["reveals_secrets"] and v["verdict"] != "deny"]
    assert not wrong, wrong[:20]


# ---- EMR configuration secrets through the door (masked answers)

door_ring = ring_fixture("awssecret", aws=True, aws_approval=None)

ring = aws.door_fixture("door_ring")


env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)


@pytest.fixture(scope="module")
def cluster(ring):
    """A cluster whose step carries a password as an argument and another as a property."""
    planted = {"arg": "planted-" + secrets.token_hex(12), "eq": "planted-" + secrets.token_hex(12),
               "property": "planted-" + secrets.token_hex(12)}
    emr = aws.standin(ring, "emr")
    cid = emr.run_job_flow(
        Name="secret-args", ReleaseLabel="emr-6.15.0", JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        Instances={"InstanceGroups": [{"Name": "master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}],
                   "KeepJobFlowAliveWhenNoSteps": True},
        Steps=[{"Name": "load", "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": "command-runner.jar",
                                  "Args": ["spark-submit", "load.py", "--db-password", planted["arg"], "--api-key=" + planted["eq"],
                                           "--rows", "10"],
                                  "Properties": [{"Key": "javax.jdo.option.ConnectionPassword", "Value": planted["property"]},
                                                 {"Key": "javax.jdo.option.ConnectionUserName", "Value": "hive"}]}}],
    )["JobFlowId"]
    step = emr.list_steps(ClusterId=cid)["Steps"][0]["Id"]
    return cid, step, planted


def ran(fn) -> dict:
    try:
        return fn()
    except botocore.exceptions.ClientError as e:
        pytest.fail(f"the call did not run: {e.response['Error'].get('Code')}")


def check_step_config(config: dict, planted: dict, what: str):
    text = json.dumps(config)
    assert "--db-password" in text, f"{what}: the stand-in did not return the step's arguments (probe inconclusive)"
    for name, value in planted.items():
        assert value not in text, f"{what} answered the step's {name} secret in clear"
    # The flags, the other arguments and the other properties stay.
    assert config["Args"][:3] == ["spark-submit", "load.py", "--db-password"], f"{what}: the arguments' shape changed"
    assert config["Args"][-2:] == ["--rows", "10"], f"{what}: an argument that is no secret was changed"
    assert config["Args"][4].startswith("--api-key="), f"{what}: a flag was changed"
    assert config["Properties"].get("javax.jdo.option.ConnectionUserName") == "hive", f"{what}: a property that is no secret was changed"
    assert "javax.jdo.option.ConnectionPassword" in config["Properties"], f"{what}: a property's key was dropped"


def test_describe_cluster_is_still_denied(env, ring, cluster):
    with pytest.raises(botocore.exceptions.ClientError):
        aws.client(env, "emr").describe_cluster(ClusterId=cluster[0])


def test_list_steps_hides_credential_arguments_and_properties(env, ring, cluster):
    cid, _, planted = cluster
    steps = ran(lambda: aws.client(env, "emr").list_steps(ClusterId=cid))["Steps"]
    check_step_config(steps[0]["Config"], planted, "emr:ListSteps")


def test_describe_step_hides_credential_arguments_and_properties(env, ring, cluster):
    cid, step, planted = cluster
    got = ran(lambda: aws.client(env, "emr").describe_step(ClusterId=cid, StepId=step))["Step"]
    check_step_config(got["Config"], planted, "emr:DescribeStep")
