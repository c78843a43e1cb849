"""A real OIDC provider for the tests (oidc-provider-mock, from PyPI), id tokens through
its authorization-code flow, and hostile tokens crafted next to genuine ones.

oidc-provider-mock signs RS256 id tokens with one RSA key per server and serves it in
its JWKS with a `kid`; its tokens' headers carry no `kid` of their own. Every provider
a hospital would use (Keycloak, Entra ID, Okta, Google) names the key, so MockIssuer
makes the mock put the key's `kid` in the header (authlib's id-token header hook) unless `kid_in_header` is False. Claims: a user's stored claims are
merged over the ones the mock computes (authlib's `claims.update(user_info)`), so
`exp`, `nbf`, `iat`, `iss` and `aud` can be set per user, and the mock still signs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import threading
import warnings
from urllib.parse import parse_qs, urlparse

import httpx

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")    # the mock on plain HTTP, loopback
warnings.filterwarnings("ignore", module="authlib")
warnings.filterwarnings("ignore", category=DeprecationWarning)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oidc_provider_mock
    from oidc_provider_mock import _app as _mock_app

logging.getLogger("werkzeug").setLevel(logging.ERROR)
logging.getLogger("oidc_provider_mock").setLevel(logging.ERROR)

REDIRECT_URI = "http://127.0.0.1:9/callback"

# --- the kid in the header ------------------------------------------------------------
_kid_lock = threading.Lock()
_kid_off_ports: set[int] = set()
_original_get_encode_header = _mock_app.OpenIDCode.get_encode_header


def _get_encode_header(self, client):
    """authlib's id-token header, plus the `kid` the mock's JWKS gives its key."""
    header = _original_get_encode_header(self, client)
    import flask
    port = flask.request.server[1] if flask.request.server else None
    with _kid_lock:
        off = port in _kid_off_ports
    if not off:
        header["kid"] = _mock_app.storage.jwk.as_dict()["kid"]
    return header


_mock_app.OpenIDCode.get_encode_header = _get_encode_header


# --- base64url / JWS helpers ---------------------------------------------------------
def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jws_parts(token: str) -> tuple[dict, dict, str]:
    h, p, s = token.split(".")
    return json.loads(unb64u(h)), json.loads(unb64u(p)), s


def compact(header: dict, payload: dict | bytes, signature: bytes | str = b"") -> str:
    p = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    sig = signature if isinstance(signature, str) else b64u(signature)
    return f"{b64u(json.dumps(header, separators=(',', ':')).encode())}.{b64u(p)}.{sig}"


class MockIssuer:
    """One oidc-provider-mock server on 127.0.0.1 (its issuer is the URL it was asked
    on: http://127.0.0.1:PORT), with a registered client whose id is the audience."""

    def __init__(self, kid_in_header: bool = True):
        self.kid_in_header = kid_in_header
        self._stack = contextlib.ExitStack()
        self.server = None
        self.port = 0
        self.client_id = self.client_secret = ""

    # --- lifecycle ---------------------------------------------------------------
    def start(self) -> "MockIssuer":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.server = self._stack.enter_context(oidc_provider_mock.run_server_in_thread(port=self.port))
        self.port = self.server.server_port
        self.set_kid_in_header(self.kid_in_header)
        self.client_id, self.client_secret = self.register_client()
        return self

    def set_kid_in_header(self, on: bool) -> None:
        self.kid_in_header = on
        with _kid_lock:
            (_kid_off_ports.discard if on else _kid_off_ports.add)(self.port)

    def stop(self) -> None:
        self._stack.close()
        self.server = None

    @property
    def running(self) -> bool:
        return self.server is not None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, host: str = "127.0.0.1") -> httpx.Client:
        return httpx.Client(base_url=f"http://{host}:{self.port}", follow_redirects=False, timeout=15)

    # --- the provider's API ------------------------------------------------------
    def register_client(self) -> tuple[str, str]:
        """Dynamic client registration (RFC 7591): returns (client_id, client_secret)."""
        with self.http() as c:
            r = c.post("/oauth2/clients", json={"redirect_uris": [REDIRECT_URI]})
            r.raise_for_status()
            body = r.json()
        return body["client_id"], body["client_secret"]

    def discovery(self) -> dict:
        with self.http() as c:
            return c.get("/.well-known/openid-configuration").raise_for_status().json()

    def jwks(self) -> dict:
        with self.http() as c:
            return c.get("/jwks").raise_for_status().json()

    def jwk(self) -> dict:
        keys = self.jwks()["keys"]
        assert len(keys) == 1, keys
        return keys[0]

    def set_user(self, sub: str, claims: dict) -> None:
        with self.http() as c:
            c.put(f"/users/{sub}", json=claims).raise_for_status()

    def id_token(self, sub: str, claims: dict | None = None, scope: str = "openid email",
                 client: tuple[str, str] | None = None, host: str = "127.0.0.1") -> str:
        """An id token for `sub` through the authorization-code flow: the authorization
        form (GET), the user picked by its `sub` (POST), the redirect with the code, the
        code exchanged at the token endpoint with the client's secret (basic auth)."""
        if claims is not None:
            self.set_user(sub, claims)
        client_id, client_secret = client or (self.client_id, self.client_secret)
        state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
        params = {"client_id": client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
                  "scope": scope, "state": state, "nonce": nonce}
        with self.http(host) as c:
            form = c.get("/oauth2/authorize", params=params)
            assert form.status_code == 200 and 'name="sub"' in form.text, (form.status_code, form.text[:500])
            r = c.post("/oauth2/authorize", params=params, data={"sub": sub})
            assert r.status_code == 302, (r.status_code, r.text[:500])
            q = parse_qs(urlparse(r.headers["location"]).query)
            assert q.get("state") == [state], q
            code = q["code"][0]
            r = c.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": REDIRECT_URI},
                       auth=(client_id, client_secret))
            assert r.status_code == 200, (r.status_code, r.text[:500])
            token = r.json()["id_token"]
        _, payload, _ = jws_parts(token)
        assert payload.get("nonce") == nonce and payload.get("sub") == sub, payload
        return token


def hoop_auth_section(mock: MockIssuer, **over) -> dict:
    """The `auth` section of hoop.json for this provider (docs/auth.md)."""
    section = {
        "issuer": mock.issuer,
        "audience": mock.client_id,
        "user_claim": "email",
        "groups_claim": "groups",
        "agents": {"claim": "hoop_kind", "values": ["agent"]},
        "algorithms": ["RS256", "ES256", "EdDSA"],
    }
    section.update(over)
    return section


CLINIC_ALLOW = [
    {"groups": ["clinicians"], "kind": "person", "max_session_seconds": 28800},
    {"groups": ["agents"], "kind": "agent", "max_session_seconds": 900},
]


# --- hostile tokens --------------------------------------------------------------------
def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rs256(header: dict, payload: dict | bytes, key) -> str:
    """A JWS signed RS256 with `key` (a cryptography RSA private key), header as given."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    unsigned = compact(header, payload).rsplit(".", 1)[0]
    sig = key.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
    return unsigned + "." + b64u(sig)


def hmac_signed(genuine: str, secret: bytes, alg: str = "HS256") -> str:
    """The genuine token's payload under a header saying `alg` (HS*), MACed with
    `secret` (the issuer's public key: the classic algorithm-confusion attack)."""
    import hashlib
    import hmac
    header, _, _ = jws_parts(genuine)
    header = dict(header, alg=alg)
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    unsigned = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + genuine.split(".")[1]
    return unsigned + "." + b64u(hmac.new(secret, unsigned.encode(), digest).digest())


def public_key_of(jwk: dict):
    from cryptography.hazmat.primitives.asymmetric import rsa
    n = int.from_bytes(unb64u(jwk["n"]), "big")
    e = int.from_bytes(unb64u(jwk["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def public_pem(jwk: dict, pkcs1: bool = False) -> bytes:
    from cryptography.hazmat.primitives import serialization
    fmt = serialization.PublicFormat.PKCS1 if pkcs1 else serialization.PublicFormat.SubjectPublicKeyInfo
    return public_key_of(jwk).public_bytes(serialization.Encoding.PEM, fmt)


def with_header(genuine: str, **changes) -> str:
    """The genuine token with its header changed (signature kept: no longer valid)."""
    h, p, s = genuine.split(".")
    header = json.loads(unb64u(h))
    header.update(changes)
    return b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + p + "." + s


def with_payload(genuine: str, **changes) -> str:
    """The genuine token with claims changed after signing (signature kept)."""
    h, p, s = genuine.split(".")
    payload = json.loads(unb64u(p))
    payload.update(changes)
    return h + "." + b64u(json.dumps(payload, separators=(",", ":")).encode()) + "." + s


def verifies_with(token: str, jwks: dict) -> bool:
    """Whether joserfc, given the issuer's JWKS and RS256 only, accepts the signature
    (a check on the test material, not on hoop)."""
    from joserfc import jws
    from joserfc.jwk import KeySet
    try:
        jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
        return True
    except Exception:  # noqa: BLE001
        return False
