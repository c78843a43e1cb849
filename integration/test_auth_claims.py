"""Who a token names, read the way an attacker would write it (docs/auth.md, "Who the
token names" and "Agents and persons"; the identity hunt of 2026-12-07). Each failed
before its fix:
- `email` is the default user name, but at some providers (Entra ID, …) a user may set
  it to anyone's address: it names a person only with `"email_verified": true` (a
  boolean), else the token is refused (invalid_claim); an unverified email is never
  recorded as the identity's;
- a token that does not say it is a person's (no agents claim, an empty or unknown
  value, no `agents` section at all) was a person, who may approve: it is an agent, at
  the SQL door, the AWS door (test_aws_identity.py) and in `hoop-approve grant`;
- a user name that reads as another's (`аlice` with a Cyrillic а, fullwidth letters,
  zero-width or bidi characters) was recorded and shown as given: refused.

MOCK is oidc-provider-mock (integration/helpers/oidc.py); DEV the development issuer of a
ring with the embedded default configuration. Prints shapes and booleans, never a token."""

from __future__ import annotations

import json

import pytest

from conftest import default_rules_ring
from helpers.oidc import CLINIC_ALLOW, b64u, hoop_auth_section, jws_parts
from test_auth_oidc import (ABSENT, Person, assert_allowed, assert_refused, base_ring, configure,  # noqa: F401 (fixtures)
                            identity_of, mock, oring, uid)
from test_ring_approve import AGENT, APPROVER, Held, approve

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --- email_verified -------------------------------------------------------------------------

@pytest.mark.parametrize("verified", [False, ABSENT, "true", 1, None], ids=["false", "absent", "string", "number", "null"])
def test_an_unverified_email_names_nobody(oring, mock, verified):
    """MOCK, user_claim email: a token whose email the issuer did not verify is refused."""
    p = Person(mock, email_verified=verified)
    assert_refused(oring, p.email, p.token, {"invalid_claim"}, psql=False)


def test_a_verified_email_names_its_owner(oring, mock):
    p = Person(mock, email_verified=True)
    _, identity = identity_of(oring, assert_allowed(oring, p.email, p.token))
    assert identity.get("user") == p.email and identity.get("email") == p.email, sorted(identity)


def test_a_provider_that_never_sends_email_verified(base_ring, mock):
    """allow_missing_email_verified: an absent claim is accepted, an explicit false never."""
    configure(base_ring, hoop_auth_section(mock, allow_missing_email_verified=True), CLINIC_ALLOW)
    p = Person(mock, email_verified=ABSENT)
    assert_allowed(base_ring, p.email, p.token)
    p = Person(mock, email_verified=False)
    assert_refused(base_ring, p.email, p.token, {"invalid_claim"}, psql=False)


def test_an_unverified_email_is_not_recorded(base_ring, mock):
    """user_claim sub: the session opens, and the record holds no email the issuer did
    not verify (hoop-audit --user searches by email too)."""
    configure(base_ring, hoop_auth_section(mock, user_claim="sub"), CLINIC_ALLOW)
    p = Person(mock, email="alice@example.org", email_verified=False)
    _, identity = identity_of(base_ring, assert_allowed(base_ring, p.sub, p.token))
    assert identity.get("user") == p.sub and "email" not in identity, sorted(identity)


# --- agents and persons ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", [ABSENT, [], "human", ["human"]], ids=["absent", "empty", "unknown", "unknown_list"])
def test_a_token_that_does_not_say_person_is_an_agent(oring, mock, kind):
    """MOCK: no person value in the kind claim: let in by the agents' rule, as an agent,
    and not by the persons' rule."""
    p = Person(mock, groups=["agents"], hoop_kind=kind)
    _, identity = identity_of(oring, assert_allowed(oring, p.email, p.token))
    assert identity.get("kind") == "agent", identity.get("kind")
    p = Person(mock, groups=["clinicians"], hoop_kind=kind)
    assert_refused(oring, p.email, p.token, {"not_allowed"}, psql=False)


def test_without_an_agents_section_nobody_is_a_person(base_ring, mock):
    """MOCK, no `agents` section: nothing tells a person from an agent, so none is a person."""
    auth = hoop_auth_section(mock)
    del auth["agents"]
    configure(base_ring, auth, CLINIC_ALLOW)
    p = Person(mock, groups=["clinicians"])
    assert_refused(base_ring, p.email, p.token, {"not_allowed"}, psql=False)
    p = Person(mock, groups=["agents"], hoop_kind=ABSENT)
    _, identity = identity_of(base_ring, assert_allowed(base_ring, p.email, p.token))
    assert identity.get("kind") == "agent", identity.get("kind")


def test_person_values_are_configurable(base_ring, mock):
    """agents.person_values: the provider's own word for a person (a role, say)."""
    configure(base_ring, hoop_auth_section(mock, agents={"claim": "roles", "values": ["hoop.agent"],
                                                         "person_values": ["hoop.user"]}), CLINIC_ALLOW)
    p = Person(mock, roles=["Reader", "hoop.user"])
    _, identity = identity_of(base_ring, assert_allowed(base_ring, p.email, p.token))
    assert identity.get("kind") == "person", identity.get("kind")
    p = Person(mock, roles=["hoop.user", "hoop.agent"])
    assert_refused(base_ring, p.email, p.token, {"invalid_claim"}, psql=False)


# --- user names that read as another's -------------------------------------------------------

LOOKALIKES = {
    "cyrillic_a": "\u0430lice",            # Cyrillic а among Latin letters
    "greek_omicron": "b\u03bfb",            # Greek ο
    "fullwidth": "\uff41lice",              # fullwidth ａ
    "math_bold": "\U0001d41alice",         # mathematical bold 𝐚
    "zero_width": "al\u200bice",           # zero-width space
    "bidi_override": "\u202eecila",        # right-to-left override
    "latin_in_cyrillic": "\u0430\u043b\u0438ce",
}


@pytest.mark.parametrize("case", list(LOOKALIKES))
def test_a_user_name_that_reads_as_another_is_refused(oring, mock, case):
    email = LOOKALIKES[case] + "@example.org"
    p = Person(mock, email=email)
    assert_refused(oring, email, p.token, {"invalid_claim"}, psql=False)


@pytest.mark.parametrize("local", ["jos\u00e9", "\u0430\u043b\u0438\u0441\u0430", "zo\u00eb.m\u00fcller"],
                         ids=["latin_accent", "all_cyrillic", "latin_accents"])
def test_a_user_name_of_one_script_per_label_is_fine(oring, mock, local):
    email = local + "@example.org"
    p = Person(mock, email=email)
    _, identity = identity_of(oring, assert_allowed(oring, email, p.token))
    assert identity.get("user") == email


# --- the development issuer and hoop-approve --------------------------------------------------

def resign(ring, token: str, drop=(), raw: bytes | None = None, header_drop=(), **claims) -> str:
    """`token` with `claims` changed and `drop` left out (or the payload `raw`; the
    header without `header_drop`), signed again with the development issuer's own key: a
    token that issuer could have given."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    header, payload, _ = jws_parts(token)
    payload.update(claims)
    for k in drop:
        payload.pop(k, None)
    header = {k: v for k, v in header.items() if k not in header_drop}
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
    unsigned = b64u(json.dumps(header, separators=(",", ":")).encode()) + "." + b64u(body)
    if header["alg"] == "EdDSA":
        sig = load_pem_private_key((ring.var / "dev-issuer" / "ed25519.pem").read_bytes(), None).sign(unsigned.encode())
    else:
        key = load_pem_private_key((ring.var / "dev-issuer" / "rsa.pem").read_bytes(), None)
        sig = key.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
    return unsigned + "." + b64u(sig)


cring = default_rules_ring("claims")


def test_the_dev_issuer_says_person_and_verified(cring):
    """DEV: a person's token says so, and that its email is verified (as a provider
    configured for hoop does); an agent's says agent."""
    _, person, _ = jws_parts(cring.mint("carol@example.org", "clinicians"))
    assert person.get("hoop_kind") == "person" and person.get("email_verified") is True, sorted(person)
    _, agent, _ = jws_parts(cring.mint(AGENT, "agents", agent=True))
    assert agent.get("hoop_kind") == "agent", sorted(agent)


def test_an_approver_whose_token_does_not_say_person_decides_nothing(cring):
    """DEV: the approver's own token without the kind claim is an agent's: `grant` is
    refused and the statement stays held; so is one whose email is not verified (anyone
    could have typed the approver's address); the token as issued decides."""
    h = Held(cring, "create table claims_kindless (id int)")
    try:
        rid = h.request_id()
        kindless = resign(cring, cring.token(APPROVER, "approvers"), drop=("hoop_kind",))
        granted = approve(cring, "grant", rid, "--reason", "kindless", token=kindless)
        assert granted.returncode != 0 and "may not decide" in granted.stderr, granted.returncode
        unverified = resign(cring, cring.token(APPROVER, "approvers"), email_verified=False)
        granted = approve(cring, "grant", rid, "--reason", "unverified", token=unverified)
        assert granted.returncode != 0 and "verified" in granted.stderr, granted.returncode
        listed = approve(cring, "list", "--json", token=kindless)
        assert listed.returncode == 0 and rid not in listed.stdout
        assert h.thread.is_alive() and h.result is None, "the held statement ran"
        assert approve(cring, "deny", rid, "--reason", "not now").returncode == 0
        h.finish()
    finally:
        h.close()


def test_duplicate_claims_are_refused(cring):
    """DEV-signed payloads naming a claim twice (which one wins differs between JSON
    readers): refused as malformed, whichever value comes last (a guard: it held before)."""
    user = "dup@example.org"
    token = cring.mint(user, "clinicians")
    body = json.dumps(dict(jws_parts(token)[1], hoop_kind="person"), separators=(",", ":"))
    for extra in ('"hoop_kind":"agent"', '"hoop_kind":"person"', '"email":"other@example.org"',
                  '"\\u0068oop_kind":"person"'):
        dup = resign(cring, token, raw=(body[:-1] + "," + extra + "}").encode())
        assert_refused(cring, user, dup, {"malformed"}, psql=False)


def test_a_kidless_token_is_checked_with_the_key_that_fits(cring):
    """DEV (an Ed25519 and an RSA key): a token without `kid` is checked with the one key
    that fits its algorithm (docs/auth.md); the RSA one was checked with the JWKS's first
    key (Ed25519) and refused."""
    for alg in ("EdDSA", "RS256"):
        user = uid(alg.lower()) + "@example.org"
        token = resign(cring, cring.mint(user, "clinicians", alg=alg), header_drop=("kid",))
        assert "kid" not in jws_parts(token)[0]
        assert_allowed(cring, user, token)


def test_an_empty_subject_is_no_subject(cring):
    """DEV-signed: `"sub": ""` would make every such token the same requester and
    approver (hoop-approve tells them apart by issuer and subject): refused."""
    user = uid("nosub") + "@example.org"
    assert_refused(cring, user, resign(cring, cring.mint(user, "clinicians"), sub=""), {"missing_claim"}, psql=False)
