"""The AWS side of a test ring: the settings `scripts/hoop aws-env` prints, as an
environment for the aws CLI and boto3 (no key of any kind in it), and a client of the
stand-in itself (moto, with the gateway's own stand-in keys) to check its state
behind the gateway's back."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import botocore.config
import pytest

from .ring import Ring

# Variables that would give a client a key of its own: never in the clients' environment.
KEY_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_PROFILE")


def aws_env(ring: Ring, user: str = "dev@example.org", *groups: str, agent: bool = False) -> dict[str, str]:
    """The environment of a client signed in as `user`: what aws-env's export lines say."""
    args = ["aws-env", user, *(groups or ("clinicians",))] + (["--agent"] if agent else [])
    r = ring.hoop(*args)
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS and not k.startswith("AWS_")}
    for line in r.stdout.splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            env[k] = v
    # No ~/.aws of the machine's, and none shared between identities (the CLI caches keys there).
    env["HOME"] = str(ring.var / "aws-home" / user)
    return env


def settings_fixture(ring_name: str, user: str = "dev@example.org", *groups: str, agent: bool = False):
    """A module fixture: the settings aws-env prints for `user`, against the ring of the
    fixture `ring_name`, in force in this process for the module (boto3 reads them)."""
    @pytest.fixture(scope="module")
    def fixture(request):
        e = aws_env(request.getfixturevalue(ring_name), user, *groups, agent=agent)
        with Environment(e):
            yield e
    return fixture


def aws_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["aws", *args], env=env, capture_output=True, text=True, timeout=timeout)


class Environment:
    """The process environment set to `env` while in use (boto3 reads its settings, and
    exchanges the web-identity token, lazily: at a client's first call)."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def credentials(env: dict[str, str]):
    """The temporary credentials the door's STS gives the settings in `env`, as boto3 gets them."""
    with Environment(env):
        return boto3.Session().get_credentials().get_frozen_credentials()


def client(env: dict[str, str], service: str, **kw):
    """A boto3 client from the settings in `env` only. Use it inside `Environment(env)`
    (the fixture `aws_settings` holds one for a whole module)."""
    return boto3.Session().client(service, config=botocore.config.Config(retries={"max_attempts": 1}), **kw)


def standin(ring: Ring, service: str):
    """A client of the stand-in itself, with the gateway's stand-in keys: for checking its
    state, never through the gateway."""
    cfg = ring.config()["connections"]["aws"]
    base = ring.var
    return boto3.client(service, endpoint_url=cfg["endpoint"], region_name="us-east-1",
                        aws_access_key_id=(base / cfg["access_key_id_file"]).read_text().strip(),
                        aws_secret_access_key=(base / cfg["secret_access_key_file"]).read_text().strip())


def keyed_table(ring: Ring, name: str):
    """A DynamoDB table of one string key `k`, made in the stand-in directly (behind the
    gateway's back); the stand-in's client, to put items with."""
    direct = standin(ring, "dynamodb")
    direct.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return direct


def seeded(ring: Ring) -> dict:
    return json.loads((ring.var / "aws" / "seeded.json").read_text())


def wait_door(ring: Ring, timeout: float = 60) -> None:
    """After a restart: the AWS door accepts connections again."""
    import socket
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", ring.aws_port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the AWS door does not accept connections on {ring.aws_port} after {timeout}s")


def door_fixture(ring_name: str):
    """A module fixture: the ring of the fixture `ring_name` (conftest's
    `ring_fixture(..., aws=True)`), once its AWS door accepts connections."""
    @pytest.fixture(scope="module")
    def fixture(request):
        r = request.getfixturevalue(ring_name)
        wait_door(r)
        return r
    return fixture


def door_url(ring: Ring) -> str:
    return f"https://localhost:{ring.aws_port}"


def ca(ring: Ring) -> str:
    return str(ring.var / "tls" / "server.crt")


def gateway_key(ring: Ring) -> Path:
    return ring.var / ring.config()["aws_door"]["key_file"]
