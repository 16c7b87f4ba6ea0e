"""Tokens: what is accepted, what is refused and with which code, where the secret lives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from services.gateway import cli
from shared.auth import (
    MAX_TOKEN_BYTES,
    ROLES,
    AuthConfigInvalid,
    InvalidInput,
    JwksUnavailable,
    Principal,
    TokenBadClaims,
    TokenBadSignature,
    TokenExpired,
    TokenIssueUnsupported,
    TokenMalformed,
    TokenNotYetValid,
    TokenService,
    TokenWrongAudience,
    TokenWrongIssuer,
    Unauthenticated,
    bearer,
    parse_ttl,
)
from shared.errors import DomainError, InvalidTenant
from shared.settings import Settings

SECRET = "s" * 40
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read THIDUA_* from the environment: none of the caller's may leak in."""
    for name in list(os.environ):
        if name.startswith("THIDUA_"):
            monkeypatch.delenv(name)


def hs(tmp_path: Path, **settings: Any) -> TokenService:
    return TokenService.from_settings(Settings(data_dir=tmp_path, **settings))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "nguyen.van.a",
        "tenant": "cd-hanoi",
        "roles": ["officer"],
        "aud": "thidua",
        "iss": "thidua",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand (pyjwt refuses to build the dangerous ones)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


# ------------------------------------------------------------------------------- HS256 round trip


def test_issued_token_verifies_to_its_principal(tmp_path: Path) -> None:
    service = hs(tmp_path)
    token = service.issue(
        tenant="cd-hanoi", roles=["approver", "officer", "officer"], subject="u-1", ttl=HOUR
    )
    principal = service.verify(token)
    assert principal == Principal("u-1", "cd-hanoi", frozenset({"officer", "approver"}))
    assert principal.has("officer") and not principal.has("admin")

    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["roles"] == ["approver", "officer"]
    assert payload["aud"] == "thidua" and payload["iss"] == "thidua"
    assert payload["exp"] - payload["iat"] == 3600 and payload["nbf"] == payload["iat"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_principal_has_refuses_unknown_role_names() -> None:
    with pytest.raises(ValueError, match="aprover"):
        Principal("u", "t", frozenset({"approver"})).has("aprover")


def test_configured_secret_signs_and_verifies(tmp_path: Path) -> None:
    token = hs(tmp_path, jwt_secret=SECRET).issue(
        tenant="t", roles=["member"], subject="u", ttl=HOUR
    )
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="thidua")["sub"] == "u"
    assert not (tmp_path / "jwt-secret").exists()


def test_embedded_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "er"
    first = hs(data_dir)
    path = data_dir / "jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text()
    assert len(secret.strip()) >= 64
    assert sorted(os.listdir(data_dir)) == ["jwt-secret"]  # no temporary file left behind

    token = first.issue(tenant="t", roles=["member"], subject="u", ttl=HOUR)
    assert hs(data_dir).verify(token).subject == "u"
    assert path.read_text() == secret
    # The file holds exactly what THIDUA_JWT_SECRET would.
    assert hs(tmp_path / "other", jwt_secret=secret.strip()).verify(token).subject == "u"


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    services: list[TokenService] = []

    def start() -> None:
        barrier.wait()
        services.append(hs(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(services) == 8
    token = services[0].issue(tenant="t", roles=["member"], subject="u", ttl=HOUR)
    assert all(service.verify(token).subject == "u" for service in services)
    assert sorted(os.listdir(tmp_path)) == ["jwt-secret"]


def test_empty_secret_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "jwt-secret").write_text("\n")
    with pytest.raises(AuthConfigInvalid) as caught:
        hs(tmp_path)
    assert caught.value.code == "CONFIG_INVALID"


def test_hs256_with_external_database_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigInvalid) as caught:
        hs(tmp_path, database_url="postgresql://u:p@db.example:5432/thidua")
    assert caught.value.code == "CONFIG_INVALID"
    assert "THIDUA_JWT_SECRET" in caught.value.message
    assert not (tmp_path / "jwt-secret").exists()
    # With the secret set it works.
    service = hs(tmp_path, database_url="postgresql://db.example/thidua", jwt_secret=SECRET)
    assert service.can_issue


@pytest.mark.parametrize(
    "settings",
    [
        {"jwt_secret": "too-short"},
        {"jwt_algorithm": "none"},
        {"jwt_algorithm": "HS512"},
        {"jwt_algorithm": "RS256"},  # neither a public key nor a JWKS URL
        {"jwt_algorithm": "RS256", "jwt_public_key": "not a pem"},
        {"jwt_algorithm": "RS256", "jwt_jwks_url": "http://idp.example/jwks.json"},
        {"jwt_algorithm": "RS256", "jwt_jwks_url": "file:///etc/passwd"},
    ],
)
def test_unworkable_configurations_are_refused(tmp_path: Path, settings: dict[str, str]) -> None:
    with pytest.raises(AuthConfigInvalid):
        hs(tmp_path, **settings)


# ----------------------------------------------------------------------------------- refusals


def test_expired_token_is_refused_after_the_leeway(tmp_path: Path) -> None:
    service = hs(tmp_path, jwt_secret=SECRET)
    now = int(time.time())
    late = jwt.encode(claims(iat=now - 600, nbf=now - 600, exp=now - 10), SECRET)
    assert service.verify(late).subject == "nguyen.van.a"  # within the 30 s leeway
    expired = jwt.encode(claims(iat=now - 600, nbf=now - 600, exp=now - 60), SECRET)
    with pytest.raises(TokenExpired) as caught:
        service.verify(expired)
    assert caught.value.code == "TOKEN_EXPIRED"
    assert caught.value.message == "Mã truy cập đã hết hạn."
    assert isinstance(caught.value, Unauthenticated) and caught.value.http_status == 401


def test_token_from_the_future_is_refused(tmp_path: Path) -> None:
    service = hs(tmp_path, jwt_secret=SECRET)
    now = int(time.time())
    with pytest.raises(TokenNotYetValid):
        service.verify(jwt.encode(claims(nbf=now + 300), SECRET))
    with pytest.raises(TokenNotYetValid):
        service.verify(jwt.encode(claims(iat=now + 300), SECRET))


@pytest.mark.parametrize(
    ("overrides", "error", "code"),
    [
        ({"aud": "another-app"}, TokenWrongAudience, "TOKEN_WRONG_AUDIENCE"),
        ({"iss": "https://evil.example"}, TokenWrongIssuer, "TOKEN_WRONG_ISSUER"),
    ],
)
def test_wrong_audience_or_issuer_is_refused(
    tmp_path: Path, overrides: dict[str, str], error: type[Unauthenticated], code: str
) -> None:
    with pytest.raises(error) as caught:
        hs(tmp_path, jwt_secret=SECRET).verify(jwt.encode(claims(**overrides), SECRET))
    assert caught.value.code == code


def test_configured_audience_and_issuer_are_the_ones_required(tmp_path: Path) -> None:
    service = hs(tmp_path, jwt_secret=SECRET, jwt_audience="api", jwt_issuer="idp")
    assert service.verify(jwt.encode(claims(aud="api", iss="idp"), SECRET)).tenant == "cd-hanoi"
    with pytest.raises(TokenWrongAudience):
        service.verify(jwt.encode(claims(iss="idp"), SECRET))


def test_token_signed_with_another_secret_is_refused(tmp_path: Path) -> None:
    forged = jwt.encode(claims(roles=["admin"]), "x" * 40)
    with pytest.raises(TokenBadSignature) as caught:
        hs(tmp_path, jwt_secret=SECRET).verify(forged)
    assert caught.value.code == "TOKEN_BAD_SIGNATURE"


def test_unsigned_token_is_refused(tmp_path: Path) -> None:
    service = hs(tmp_path, jwt_secret=SECRET)
    for alg in ("none", "None", "NONE"):
        with pytest.raises(Unauthenticated) as caught:
            service.verify(hand_made({"alg": alg, "typ": "JWT"}, claims(roles=["admin"]), None))
        assert caught.value.code == "TOKEN_MALFORMED"


def test_other_algorithms_are_refused_even_with_the_right_secret(tmp_path: Path) -> None:
    token = hand_made({"alg": "HS512", "typ": "JWT"}, claims(), SECRET.encode())
    with pytest.raises(TokenMalformed):
        hs(tmp_path, jwt_secret=SECRET).verify(token)


@pytest.mark.parametrize(
    "garbage", ["", "garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.@@@.@@@", "ü.ü.ü", "a" * 100]
)
def test_garbage_is_malformed(tmp_path: Path, garbage: str) -> None:
    with pytest.raises(TokenMalformed) as caught:
        hs(tmp_path, jwt_secret=SECRET).verify(garbage)
    assert caught.value.code == "TOKEN_MALFORMED"


def test_oversized_token_is_refused_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = hs(tmp_path, jwt_secret=SECRET)
    fits = too_big = ""
    for pad in range(5900, 6300):
        token = jwt.encode(claims(pad="p" * pad), SECRET)
        if len(token) <= MAX_TOKEN_BYTES:
            fits = token
        else:
            too_big = token
            break
    assert fits and too_big
    assert service.verify(fits).subject == "nguyen.van.a"

    def must_not_decode(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded an oversized token")

    monkeypatch.setattr(jwt, "decode", must_not_decode)
    with pytest.raises(TokenMalformed):
        service.verify(too_big)


@pytest.mark.parametrize(
    "overrides",
    [
        {"roles": ["superuser"]},
        {"roles": ["officer", "root"]},
        {"roles": []},
        {"roles": "officer"},
        {"roles": [1]},
        {"roles": None},
        {"tenant": "bad tenant!"},
        {"tenant": ""},
        {"tenant": 42},
        {"tenant": None},
        {"sub": None},
        {"sub": ""},
        {"sub": "x" * 201},
        {"sub": "a\nb"},
        {"sub": 7},
        {"exp": None},
        {"iat": None},
        {"aud": None},
        {"iss": None},
    ],
)
def test_bad_or_missing_claims_are_refused(tmp_path: Path, overrides: dict[str, Any]) -> None:
    with pytest.raises(TokenBadClaims) as caught:
        hs(tmp_path, jwt_secret=SECRET).verify(jwt.encode(claims(**overrides), SECRET))
    assert caught.value.code == "TOKEN_BAD_CLAIMS"


def test_every_refusal_is_unauthenticated_with_a_distinct_code() -> None:
    kinds = [
        TokenExpired,
        TokenNotYetValid,
        TokenMalformed,
        TokenBadSignature,
        TokenWrongAudience,
        TokenWrongIssuer,
        TokenBadClaims,
    ]
    assert all(issubclass(kind, Unauthenticated) for kind in kinds)
    codes = [kind.code for kind in [Unauthenticated, *kinds]]
    assert len(set(codes)) == len(codes)
    assert Unauthenticated().code == "UNAUTHENTICATED"
    assert Unauthenticated.http_status == 401 and JwksUnavailable.http_status == 503


# ------------------------------------------------------------------------------------ issuing


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"roles": ["root"]}, InvalidInput),
        ({"roles": []}, InvalidInput),
        ({"roles": "officer"}, InvalidInput),
        ({"tenant": "bad tenant"}, InvalidTenant),
        ({"subject": ""}, InvalidInput),
        ({"subject": "   "}, InvalidInput),
        ({"subject": "x" * 201}, InvalidInput),
        ({"ttl": timedelta(0)}, InvalidInput),
        ({"ttl": timedelta(seconds=-5)}, InvalidInput),
        ({"ttl": timedelta(days=30, seconds=1)}, InvalidInput),
    ],
)
def test_issue_refuses_bad_values(
    tmp_path: Path, arguments: dict[str, Any], error: type[DomainError]
) -> None:
    values: dict[str, Any] = {"tenant": "t", "roles": ["member"], "subject": "u", "ttl": HOUR}
    with pytest.raises(error):
        hs(tmp_path, jwt_secret=SECRET).issue(**{**values, **arguments})


def test_issue_accepts_the_limits(tmp_path: Path) -> None:
    service = hs(tmp_path, jwt_secret=SECRET, jwt_max_ttl="30d")
    token = service.issue(tenant="t", roles=ROLES, subject="x" * 200, ttl=timedelta(days=30))
    assert service.verify(token).roles == frozenset(ROLES)


# ------------------------------------------------------------------------------------- RS256


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_rs256_public_key_verifies_only_its_private_key(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_public_key=pem(rsa_key))
    good = jwt.encode(claims(roles=["council"]), rsa_key, algorithm="RS256")
    assert service.verify(good) == Principal("nguyen.van.a", "cd-hanoi", frozenset({"council"}))
    with pytest.raises(TokenBadSignature):
        service.verify(jwt.encode(claims(), other_rsa_key, algorithm="RS256"))
    assert not (tmp_path / "jwt-secret").exists()


def test_rs256_public_key_may_be_one_env_line(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    one_line = pem(rsa_key).strip().replace("\n", "\\n")
    service = hs(tmp_path, jwt_algorithm="rs256", jwt_public_key=one_line)
    assert service.verify(jwt.encode(claims(), rsa_key, algorithm="RS256")).subject


def test_rs256_refuses_hmac_signed_with_the_public_key(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    """The classic key-confusion forgery: HS256 keyed with the (public) PEM."""
    public = pem(rsa_key)
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_public_key=public)
    forged = hand_made({"alg": "HS256", "typ": "JWT"}, claims(roles=["admin"]), public.encode())
    with pytest.raises(TokenMalformed):
        service.verify(forged)
    with pytest.raises(TokenMalformed):
        service.verify(hand_made({"alg": "none"}, claims(roles=["admin"]), None))


def test_rs256_cannot_issue(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_public_key=pem(rsa_key))
    assert not service.can_issue
    with pytest.raises(TokenIssueUnsupported):
        service.issue(tenant="t", roles=["member"], subject="u", ttl=HOUR)


def test_rs256_refuses_weak_keys(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(AuthConfigInvalid):
        hs(tmp_path, jwt_algorithm="RS256", jwt_public_key=pem(weak))


def test_rs256_needs_exactly_one_key_source(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(AuthConfigInvalid):
        hs(
            tmp_path,
            jwt_algorithm="RS256",
            jwt_public_key=pem(rsa_key),
            jwt_jwks_url="https://idp.example/jwks.json",
        )


class Jwks:
    """A JWKS endpoint on 127.0.0.1 that counts its requests."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey) -> Iterator[Jwks]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    server = Jwks([{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}])
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_rs256_jwks_picks_the_key_by_kid(
    tmp_path: Path, jwks: Jwks, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_jwks_url=jwks.url)
    token = jwt.encode(claims(roles=["auditor"]), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert service.verify(token).roles == frozenset({"auditor"})
    assert service.verify(token).has("auditor")
    assert jwks.requests == 1  # the key set is cached

    impostor = jwt.encode(claims(), other_rsa_key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(TokenBadSignature):
        service.verify(impostor)
    unknown = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "k9"})
    with pytest.raises(TokenBadSignature):
        service.verify(unknown)
    with pytest.raises(TokenMalformed):
        service.verify(jwt.encode(claims(), rsa_key, algorithm="RS256"))  # no kid


def test_rs256_jwks_garbage_never_reaches_the_network(tmp_path: Path, jwks: Jwks) -> None:
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_jwks_url=jwks.url)
    for token in ("garbage", hand_made({"alg": "none", "kid": "k1"}, claims(), None)):
        with pytest.raises(TokenMalformed):
            service.verify(token)
    assert jwks.requests == 0


def test_rs256_jwks_outage_is_not_the_callers_fault(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    service = hs(tmp_path, jwt_algorithm="RS256", jwt_jwks_url=f"http://127.0.0.1:{port}/jwks")
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(JwksUnavailable) as caught:
        service.verify(token)
    assert caught.value.code == "JWKS_UNAVAILABLE"
    assert not isinstance(caught.value, Unauthenticated)


# ------------------------------------------------------------------------------ header and ttl


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER  abc-_.~+/=", "abc-_.~+/="),
        ("  Bearer abc  ", "abc"),
    ],
)
def test_bearer_extracts_the_token(value: str | None, token: str | None) -> None:
    assert bearer(value) == token


@pytest.mark.parametrize(
    "value", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "abc.def.ghi", "Bearer a b", "Bearer a,b"]
)
def test_bearer_refuses_anything_else(value: str) -> None:
    with pytest.raises(TokenMalformed):
        bearer(value)


@pytest.mark.parametrize(
    ("text", "ttl"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("2d", timedelta(days=2)),
        (" 30d ", timedelta(days=30)),
    ],
)
def test_parse_ttl(text: str, ttl: timedelta) -> None:
    assert parse_ttl(text) == ttl


@pytest.mark.parametrize(
    "text", ["", "8", "h", "8x", "-8h", "0s", "8 h", "1.5h", "8H", "31d", "999999999d", "٨h"]
)
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_ttl(text)
    assert caught.value.code == "INVALID_INPUT"


# ----------------------------------------------------------------------------------------- CLI


def test_cli_prints_only_a_token_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_database(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("token issue must not start the database")

    monkeypatch.setattr(cli, "Database", no_database)
    result = CliRunner().invoke(
        cli.app,
        ["token", "issue", "--tenant", "cd-hanoi", "--roles", "officer,approver", "--subject", "u"],
        env={"THIDUA_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    principal = TokenService.from_settings(Settings(data_dir=tmp_path)).verify(token)
    assert principal == Principal("u", "cd-hanoi", frozenset({"officer", "approver"}))
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 8 * 3600
    assert sorted(os.listdir(tmp_path)) == ["jwt-secret"]


def test_cli_ttl_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["token", "issue", "-t", "t", "-r", "admin", "-s", "u", "--ttl", "30m"],
        env={"THIDUA_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.stderr
    payload = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 1800


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (["--roles", "officer,root"], "INVALID_INPUT"),
        (["--roles", "officer", "--ttl", "forever"], "INVALID_INPUT"),
        (["--roles", "officer", "--tenant", "bad tenant"], "TENANT_INVALID"),
    ],
)
def test_cli_refusals_exit_2_with_the_code(tmp_path: Path, arguments: list[str], code: str) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["token", "issue", "--tenant", "t", "--subject", "u", *arguments],
        env={"THIDUA_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert code in result.stderr


def test_cli_refuses_hs256_without_secret_on_an_external_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["token", "issue", "-t", "t", "-r", "member", "-s", "u"],
        env={"THIDUA_DATA_DIR": str(tmp_path), "THIDUA_DATABASE_URL": "postgresql://db/thidua"},
    )
    assert result.exit_code == 2
    assert "CONFIG_INVALID" in result.stderr
