"""Tokens at the gateway: the lifetime cap, and revocation by the operator
(`thidua token revoke`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from services.gateway.app import create_app
from shared.auth import TokenService

THIDUA = Path(sys.executable).with_name("thidua")
ME = "{ me { subject } }"


@pytest.fixture
def tokens(settings) -> TokenService:
    return TokenService.from_settings(settings)


async def ask(settings, runtime, token: str) -> httpx.Response:
    """One request to a gateway started now (so it has just loaded the revocations)."""
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(
            "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
        )


def code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def revoke(settings, *arguments: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update(THIDUA_DATABASE_URL=settings.database_url, THIDUA_JWT_SECRET=settings.jwt_secret)
    return subprocess.run(
        [THIDUA, "token", "revoke", *arguments], env=env, capture_output=True, text=True
    )


def issued(tokens: TokenService, subject: str) -> str:
    return tokens.issue(tenant="t-any", roles=["member"], subject=subject, ttl=timedelta(hours=1))


async def test_a_token_valid_until_the_year_3000_is_refused_with_401(settings, runtime):
    now = int(time.time())
    claims = {"sub": "u", "tenant": "t-any", "roles": ["member"], "aud": "thidua"}
    forever = jwt.encode(
        {**claims, "iss": "thidua", "iat": now, "exp": int(datetime(3000, 1, 1).timestamp())},
        settings.jwt_secret,
        algorithm="HS256",
    )
    response = await ask(settings, runtime, forever)
    assert response.status_code == 401 and code(response) == "TOKEN_LIFETIME_TOO_LONG"


async def test_a_token_revoked_by_its_id_is_refused_and_others_are_not(settings, runtime, tokens):
    # Given two tokens of one subject, both accepted
    subject = f"s-{time.monotonic_ns()}"
    kept, lost = issued(tokens, subject), issued(tokens, subject)
    assert (await ask(settings, runtime, lost)).status_code == 200
    # When the operator revokes one by its jti
    jti = tokens.verify_token(lost).token_id
    done = revoke(settings, "--jti", jti, "--reason", "máy bị mất")
    assert done.returncode == 0, done.stderr
    # Then that one is refused, the other still works
    refused = await ask(settings, runtime, lost)
    assert refused.status_code == 401 and code(refused) == "TOKEN_REVOKED"
    assert (await ask(settings, runtime, kept)).json()["data"]["me"]["subject"] == subject


async def test_a_subjects_tokens_issued_before_a_time_are_refused(settings, runtime, tokens):
    subject, other = f"s-{time.monotonic_ns()}", f"o-{time.monotonic_ns()}"
    old, bystander = issued(tokens, subject), issued(tokens, other)
    until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    done = revoke(settings, "--subject", subject, "--until", until)
    assert done.returncode == 0, done.stderr
    assert code(await ask(settings, runtime, old)) == "TOKEN_REVOKED"
    assert (await ask(settings, runtime, bystander)).status_code == 200
    # A token issued after --until is the subject's new, valid one.
    later = jwt.decode(old, options={"verify_signature": False})
    fresh = jwt.encode(
        {**later, "jti": "new", "iat": later["iat"] + 60, "exp": later["exp"] + 60},
        settings.jwt_secret,
        algorithm="HS256",
    )
    assert code(await ask(settings, runtime, fresh)) != "TOKEN_REVOKED"


@pytest.mark.parametrize(
    "arguments",
    [[], ["--jti", "a", "--subject", "b"], ["--subject", "b", "--until", "yesterday"]],
)
def test_revoke_needs_exactly_one_target_and_a_real_time(settings, arguments):
    done = revoke(settings, *arguments)
    assert done.returncode == 2 and "INVALID_INPUT" in done.stderr
