"""Who an AWS door credential is, outside the calls it signs (found by the identity hunt of
2026-12-06, s42; both failed before their fix):
- the session token of the AWS door's temporary credentials (in the clear in every
  presigned URL) signed its owner in at the PostgreSQL door as a password: a session token
  is the AWS door's to check, with a signature, and no password anywhere else;
- a call the AWS door refused itself after it had verified the caller (sts:AssumeRole of
  another role, a relabelled answer) left nothing in the audit trail: it goes round the
  ring as a `refused` frame on the caller's session, as the PostgreSQL door's refusals do.

Prints counts and booleans only; never a token or a secret."""
from __future__ import annotations

import time
import urllib.parse

import boto3
import botocore.config
import pytest

from conftest import ring_fixture
from helpers import aws
from helpers.pgwire import PGWire, ServerClosed, WireError

aws_ring = ring_fixture("aws-identity", aws=True)
USER = "dev@example.org"


@pytest.fixture(scope="module")
def env(aws_ring):
    return aws.aws_env(aws_ring, USER, "clinicians")


@pytest.fixture(scope="module")
def creds(env):
    return aws.credentials(env)


def client(env, creds, service):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1", verify=env["AWS_CA_BUNDLE"],
                        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                        aws_session_token=creds.token, config=cfg)


def sign_in(ring, user: str, database: str, password: str, app: str) -> bool:
    c = PGWire("127.0.0.1", ring.listen_port, timeout=20)
    try:
        c.startup(user, database, password, {"application_name": app})
        return True
    except (WireError, ServerClosed, OSError):
        return False
    finally:
        c.close()


def test_a_presigned_urls_session_token_is_no_postgres_password(aws_ring, env, creds):
    url = client(env, creds, "s3").generate_presigned_url(
        "get_object", Params={"Bucket": "clinic-exports", "Key": "exports/visit-note.txt"}, ExpiresIn=600)
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["X-Amz-Security-Token"]
    assert token.startswith("hoop1.")
    app = "aws-identity-token-as-password"
    assert not sign_in(aws_ring, USER, "aws", token, app), "a bearer of the session token signed in at the PostgreSQL door"
    assert not sign_in(aws_ring, USER, "clinic", token, app)
    opened = [f for sid in aws_ring.session_ids_for_app(app) for f in aws_ring.session_frames(sid)
              if f.get("type") == "session_open" and f.get("decision") == "allowed"]
    assert not opened, "the audit trail holds a session of the token's owner opened by whoever held the URL"


def refusals(ring) -> list[dict]:
    import json
    with ring.audit() as db:
        return [json.loads(f) for (f,) in db.execute("SELECT CAST(frame AS TEXT) FROM frames WHERE type = 'refused'")]


@pytest.mark.parametrize("attempt", ["sts_assume_role", "relabel_answer"])
def test_a_verified_callers_refused_call_is_in_the_audit_trail(aws_ring, env, creds, attempt):
    sts = client(env, creds, "sts")
    sts.get_caller_identity()          # the key's ring session is open and recorded
    before = len(refusals(aws_ring))
    with pytest.raises(Exception) as refused:
        if attempt == "sts_assume_role":
            sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/admin", RoleSessionName="aws-identity")
        else:
            client(env, creds, "s3").get_object(Bucket="clinic-exports", Key="exports/visit-note.txt",
                                                ResponseContentType="application/octet-stream")
    assert "AccessDenied" in str(refused.value)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(refusals(aws_ring)) == before:
        time.sleep(0.2)
    new = refusals(aws_ring)[before:]
    assert len(new) == 1 and new[0]["code"] == "AccessDenied" and new[0]["session"].startswith("aws:"), \
        [(f.get("code"), f.get("stage")) for f in new]
    assert new[0]["stage"] == "hoop-listen-aws" and new[0]["method"] in ("GET", "POST")


def test_a_token_that_does_not_say_person_is_an_agent_at_the_aws_door(aws_ring):
    """The web-identity token without the kind claim (docs/auth.md, "Agents and persons")
    is an agent's at the AWS door too: the persons' rule (clinicians) does not give it
    keys; the agents' rule does. It was a person's (identity hunt of 2026-12-07)."""
    from pathlib import Path

    from test_auth_claims import resign
    for user, group, gets_keys in (("kindless-person@example.org", "clinicians", False),
                                   ("kindless-agent@example.org", "agents", True)):
        env = aws.aws_env(aws_ring, user, group)
        path = Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"])
        path.write_text(resign(aws_ring, path.read_text().strip(), drop=("hoop_kind",)))
        try:
            got = aws.credentials(env) is not None
        except Exception:  # noqa: BLE001: the refusal is the result under test
            got = False
        assert got == gets_keys, f"{group}: keys {got}, want {gets_keys}"
