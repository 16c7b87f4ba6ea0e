"""Who is calling: signed tokens (JWT) in, a :class:`Principal` out. Pure: no web framework here.

Two setups, chosen by ``THIDUA_JWT_ALGORITHM``:

* ``HS256`` (default): one shared secret signs and verifies. It is ``THIDUA_JWT_SECRET``; with the
  embedded database and no secret set, it is generated once into ``DATA_DIR/jwt-secret`` (mode
  0600) and reused (its text is exactly what ``THIDUA_JWT_SECRET`` would hold). With a real
  ``THIDUA_DATABASE_URL`` the secret must be set: a generated file would differ per machine.
* ``RS256``: tokens come from an identity provider and are only verified here, with
  ``THIDUA_JWT_PUBLIC_KEY`` (PEM) or the keys at ``THIDUA_JWT_JWKS_URL`` (picked by the token's
  ``kid``). This service cannot issue them.

Only the configured algorithm is accepted (never ``none``). Every token carries ``sub``,
``tenant``, ``roles``, ``aud``, ``iss``, ``iat`` and ``exp``; clocks may differ by 30 seconds.
Each refusal is a typed :class:`Unauthenticated` with a stable code.

A token lives at most ``THIDUA_JWT_MAX_TTL`` (default 24h): one whose ``exp`` lies further than
that after its ``iat`` is refused (TOKEN_LIFETIME_TOO_LONG), whoever signed it, so a leaked token
cannot outlive the cap. Tokens issued here carry a ``jti`` (token id), by which an operator can
revoke one (``thidua token revoke``, shared/revocations.py).

:meth:`TokenService.verify` may fetch the JWKS over the network (blocking, at most every few
minutes, with a 5 s timeout): async callers with a JWKS URL should run it in a thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.errors import DomainError, InvalidInput
from shared.eventstore import check_tenant
from shared.settings import Settings

ROLES = ("member", "officer", "approver", "council", "auditor", "admin")

MAX_TOKEN_BYTES = 8 * 1024
MAX_TTL = timedelta(days=30)
LEEWAY_SECONDS = 30
MAX_SUBJECT_CHARS = 200
MAX_TOKEN_ID_CHARS = 200
MIN_SECRET_BYTES = 32
MIN_RSA_BITS = 2048
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300.0
SECRET_FILE = "jwt-secret"

_ALGORITHMS = ("HS256", "RS256")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TTL = re.compile(r"([0-9]{1,9})([smhd])")
_TTL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Claims present but unusable (sub and jti checks exist from pyjwt 2.10 on).
_CLAIM_ERRORS: tuple[type[jwt.PyJWTError], ...] = tuple(
    getattr(jwt.exceptions, name)
    for name in (
        "MissingRequiredClaimError",
        "InvalidIssuedAtError",
        "InvalidSubjectError",
        "InvalidJTIError",
    )
    if hasattr(jwt.exceptions, name)
)
# RFC 6750 b64token.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a valid token says beyond its principal: its id (``jti``; None when the issuer set
    none) and when it was issued (``iat``, seconds since the epoch), for revocation."""

    principal: Principal
    token_id: str | None
    issued_at: int


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller: who (``subject``), in which unit (``tenant``), allowed to act as which
    ``roles``."""

    subject: str
    tenant: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """Whether the caller holds ``role``. A name outside :data:`ROLES` is a programming error
        (a typo must not read as a quiet "no"): ValueError."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return role in self.roles


# ---------------------------------------------------------------------------------------- errors


class Unauthenticated(DomainError):
    """The caller is not (validly) identified. Every token refusal is one of these (HTTP 401)."""

    code = "UNAUTHENTICATED"
    message_vi = "Cần đăng nhập: thiếu mã truy cập (token)."
    http_status: ClassVar[int] = 401


class TokenExpired(Unauthenticated):
    code = "TOKEN_EXPIRED"
    message_vi = "Mã truy cập đã hết hạn."


class TokenNotYetValid(Unauthenticated):
    code = "TOKEN_NOT_YET_VALID"
    message_vi = "Mã truy cập chưa đến thời điểm có hiệu lực (hãy kiểm tra đồng hồ máy)."


class TokenMalformed(Unauthenticated):
    code = "TOKEN_MALFORMED"
    message_vi = "Mã truy cập không đúng định dạng."


class TokenBadSignature(Unauthenticated):
    code = "TOKEN_BAD_SIGNATURE"
    message_vi = "Chữ ký của mã truy cập không hợp lệ."


class TokenWrongAudience(Unauthenticated):
    code = "TOKEN_WRONG_AUDIENCE"
    message_vi = "Mã truy cập không dành cho hệ thống này (sai đối tượng nhận – aud)."


class TokenWrongIssuer(Unauthenticated):
    code = "TOKEN_WRONG_ISSUER"
    message_vi = "Mã truy cập do một bên phát hành không được tin cậy (sai iss)."


class TokenLifetimeTooLong(Unauthenticated):
    code = "TOKEN_LIFETIME_TOO_LONG"
    message_vi = "Mã truy cập có thời hạn dài hơn mức cho phép (THIDUA_JWT_MAX_TTL)."


class TokenRevoked(Unauthenticated):
    code = "TOKEN_REVOKED"
    message_vi = "Mã truy cập đã bị thu hồi."


class TokenBadClaims(Unauthenticated):
    code = "TOKEN_BAD_CLAIMS"
    message_vi = "Nội dung mã truy cập không hợp lệ (sub, tenant hoặc roles)."


class JwksUnavailable(DomainError):
    """The identity provider's keys could not be fetched: the server's problem, not the
    caller's (HTTP 503), so clients should retry rather than log in again."""

    code = "JWKS_UNAVAILABLE"
    message_vi = "Không lấy được khóa công khai (JWKS) để kiểm tra mã truy cập; hãy thử lại sau."
    http_status: ClassVar[int] = 503


class AuthConfigInvalid(DomainError):
    code = "CONFIG_INVALID"
    message_vi = "Cấu hình xác thực không hợp lệ."


class TokenIssueUnsupported(DomainError):
    code = "TOKEN_ISSUE_UNSUPPORTED"
    message_vi = (
        "Máy chủ này không phát hành mã truy cập: với RS256, mã do nhà cung cấp định danh cấp."
    )


# ------------------------------------------------------------------------------------- helpers


def bearer(header_value: str | None) -> str | None:
    """The token in an ``Authorization`` header value: None when there is none (absent or
    empty); ``Bearer <token>`` (scheme in any case) gives the token; anything else is
    :class:`TokenMalformed`."""
    if header_value is None:
        return None
    value = header_value.strip()
    if not value:
        return None
    scheme, _, rest = value.partition(" ")
    token = rest.strip(" ")
    if scheme.lower() != "bearer":
        raise TokenMalformed("Tiêu đề Authorization phải có dạng 'Bearer <mã>'.")
    if not _BEARER_TOKEN.fullmatch(token):
        raise TokenMalformed("Sau 'Bearer' phải là đúng một mã truy cập.")
    return token


def parse_ttl(text: str) -> timedelta:
    """``45s``, ``30m``, ``8h`` or ``2d`` as a timedelta (positive; at most 30 days)."""
    match = _TTL.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(
            f"Thời hạn {text!r}: viết số nguyên dương kèm đơn vị s, m, h hoặc d (ví dụ 8h, 30m)."
        )
    ttl = timedelta(**{_TTL_UNITS[match[2]]: int(match[1])})
    _check_ttl(ttl)
    return ttl


def _check_ttl(ttl: timedelta, most: timedelta = MAX_TTL) -> None:
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise InvalidInput("Thời hạn của mã truy cập phải dương.")
    if ttl > most:
        raise InvalidInput(f"Thời hạn của mã truy cập tối đa {_spoken(most)}.")


def _spoken(ttl: timedelta) -> str:
    seconds = int(ttl.total_seconds())
    for size, unit in ((86400, "ngày"), (3600, "giờ"), (60, "phút")):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} giây"


def _subject_ok(subject: object) -> bool:
    return (
        isinstance(subject, str)
        and 0 < len(subject) <= MAX_SUBJECT_CHARS
        and subject.strip() != ""
        and not _CONTROL.search(subject)
    )


def _roles_ok(roles: object) -> bool:
    return (
        isinstance(roles, list)
        and 0 < len(roles) <= 4 * len(ROLES)
        and all(isinstance(role, str) and role in ROLES for role in roles)
    )


# ------------------------------------------------------------------------------------- service


class TokenService:
    """Issues (HS256) and verifies tokens. Build it with :meth:`from_settings`."""

    def __init__(
        self,
        *,
        algorithm: str,
        audience: str,
        issuer: str,
        secret: str | None = None,
        public_key: RSAPublicKey | None = None,
        jwks_url: str | None = None,
        max_ttl: timedelta = MAX_TTL,
    ) -> None:
        if not timedelta(0) < max_ttl <= MAX_TTL:
            raise AuthConfigInvalid("THIDUA_JWT_MAX_TTL phải dương và không quá 30 ngày.")
        self._max_ttl = max_ttl
        if algorithm == "HS256":
            if secret is None or len(secret.encode()) < MIN_SECRET_BYTES:
                raise AuthConfigInvalid(
                    f"HS256 cần khóa bí mật dài ít nhất {MIN_SECRET_BYTES} byte."
                )
        elif algorithm == "RS256":
            if (public_key is None) == (jwks_url is None):
                raise AuthConfigInvalid(
                    "RS256 cần đúng một trong hai: THIDUA_JWT_PUBLIC_KEY hoặc THIDUA_JWT_JWKS_URL."
                )
        else:
            raise AuthConfigInvalid(f"Thuật toán {algorithm!r}: chỉ dùng HS256 hoặc RS256.")
        self._algorithm = algorithm
        self._audience = audience
        self._issuer = issuer
        self._secret = secret.encode() if algorithm == "HS256" and secret else None
        self._public_key = public_key
        self._jwks = (
            jwt.PyJWKClient(
                _checked_jwks_url(jwks_url),
                cache_keys=True,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=JWKS_TIMEOUT_SECONDS,
            )
            if jwks_url is not None
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        """The service the settings describe; a setup that cannot work is refused here, as
        :class:`AuthConfigInvalid` (code CONFIG_INVALID)."""
        algorithm = settings.jwt_algorithm.strip().upper()
        common: dict[str, Any] = {
            "algorithm": algorithm,
            "audience": settings.jwt_audience,
            "issuer": settings.jwt_issuer,
            "max_ttl": _max_ttl(settings.jwt_max_ttl),
        }
        if algorithm == "HS256":
            if settings.jwt_secret:
                secret = settings.jwt_secret
            elif settings.embedded:
                secret = _embedded_secret(Path(settings.data_dir))
            else:
                raise AuthConfigInvalid(
                    "Dùng THIDUA_DATABASE_URL với HS256 thì phải đặt THIDUA_JWT_SECRET "
                    f"(ít nhất {MIN_SECRET_BYTES} byte, giống nhau trên mọi máy chủ)."
                )
            return cls(**common, secret=secret)
        if algorithm == "RS256":
            public_key = (
                _load_public_key(settings.jwt_public_key) if settings.jwt_public_key else None
            )
            return cls(**common, public_key=public_key, jwks_url=settings.jwt_jwks_url or None)
        return cls(**common)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def max_ttl(self) -> timedelta:
        return self._max_ttl

    @property
    def can_issue(self) -> bool:
        return self._secret is not None

    def issue(self, *, tenant: str, roles: Iterable[str], subject: str, ttl: timedelta) -> str:
        """A signed token for ``subject`` acting in ``tenant`` as ``roles``, valid for ``ttl``."""
        if self._secret is None:
            raise TokenIssueUnsupported()
        check_tenant(tenant)
        if isinstance(roles, str):
            raise InvalidInput("Danh sách vai trò phải là một dãy tên, không phải một chuỗi.")
        wanted = sorted(set(roles))
        if not wanted:
            raise InvalidInput(f"Cần ít nhất một vai trò ({', '.join(ROLES)}).")
        unknown = [role for role in wanted if role not in ROLES]
        if unknown:
            raise InvalidInput(
                f"Vai trò không tồn tại: {', '.join(map(repr, unknown))}; "
                f"chỉ dùng {', '.join(ROLES)}."
            )
        if not _subject_ok(subject):
            raise InvalidInput(
                f"Chủ thể (subject) phải có 1–{MAX_SUBJECT_CHARS} ký tự, không toàn khoảng trắng, "
                "không có ký tự điều khiển."
            )
        _check_ttl(ttl, self._max_ttl)
        now = int(time.time())
        claims = {
            "jti": uuid.uuid4().hex,
            "sub": subject,
            "tenant": tenant,
            "roles": wanted,
            "aud": self._audience,
            "iss": self._issuer,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl.total_seconds()),
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; otherwise an :class:`Unauthenticated` subclass."""
        return self.verify_token(token).principal

    def verify_token(self, token: str) -> VerifiedToken:
        """:meth:`verify`, with the token's id and issue time (for revocation checks)."""
        if not isinstance(token, str) or not token:
            raise TokenMalformed()
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenMalformed(f"Mã truy cập dài quá {MAX_TOKEN_BYTES} byte.")
        try:
            claims = jwt.decode(
                token,
                self._verification_key(token),
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired(reason=str(exc)) from None
        except jwt.ImmatureSignatureError as exc:
            raise TokenNotYetValid(reason=str(exc)) from None
        except jwt.InvalidAudienceError as exc:
            raise TokenWrongAudience(reason=str(exc)) from None
        except jwt.InvalidIssuerError as exc:
            raise TokenWrongIssuer(reason=str(exc)) from None
        except jwt.InvalidSignatureError as exc:
            raise TokenBadSignature(reason=str(exc)) from None
        except _CLAIM_ERRORS as exc:
            raise TokenBadClaims(reason=str(exc)) from None
        except jwt.InvalidAlgorithmError as exc:
            raise TokenMalformed(
                f"Thuật toán ký không được chấp nhận (chỉ {self._algorithm}).", reason=str(exc)
            ) from None
        except jwt.PyJWTError as exc:
            raise TokenMalformed(reason=str(exc)) from None
        principal, token_id = _principal(claims), _token_id(claims)
        if not all(_is_number(claims[name]) for name in ("exp", "iat")):
            # PyJWT takes "123" for a time; a number it must be, or the lifetime is no sum.
            raise TokenBadClaims("exp và iat phải là số giây.")
        if claims["exp"] - claims["iat"] > self._max_ttl.total_seconds():
            raise TokenLifetimeTooLong(f"Tối đa {_spoken(self._max_ttl)} kể từ lúc phát hành.")
        return VerifiedToken(principal, token_id, int(claims["iat"]))

    def _verification_key(self, token: str) -> Any:
        if self._secret is not None:
            return self._secret
        if self._public_key is not None:
            return self._public_key
        assert self._jwks is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenMalformed(reason=str(exc)) from None
        if header.get("alg") != self._algorithm:
            raise TokenMalformed(f"Thuật toán ký không được chấp nhận (chỉ {self._algorithm}).")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 256:
            raise TokenMalformed("Mã truy cập thiếu mã khóa (kid).")
        try:
            self._jwks.get_signing_keys()  # cached; a failure here is the provider's, not the token's
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise JwksUnavailable(reason=str(exc)) from None
        try:
            jwk = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise JwksUnavailable(reason=str(exc)) from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise TokenBadSignature("Không có khóa nào mang mã kid này.", reason=str(exc)) from None
        if not isinstance(jwk.key, RSAPublicKey):
            raise TokenBadSignature("Khóa mang mã kid này không phải khóa công khai RSA.")
        return jwk.key


def _token_id(claims: dict[str, Any]) -> str | None:
    jti = claims.get("jti")
    if jti is None:
        return None
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_TOKEN_ID_CHARS:
        raise TokenBadClaims("Trường jti không hợp lệ.")
    return jti


def _max_ttl(text: str) -> timedelta:
    try:
        return parse_ttl(text)
    except InvalidInput as exc:
        raise AuthConfigInvalid(f"THIDUA_JWT_MAX_TTL: {exc.detail}") from None


def _principal(claims: dict[str, Any]) -> Principal:
    subject, tenant, roles = claims.get("sub"), claims.get("tenant"), claims.get("roles")
    if not _subject_ok(subject):
        raise TokenBadClaims("Trường sub không hợp lệ.")
    if not isinstance(tenant, str):
        raise TokenBadClaims("Thiếu trường tenant.")
    try:
        check_tenant(tenant)
    except DomainError:
        raise TokenBadClaims("Trường tenant không hợp lệ.") from None
    if not _roles_ok(roles):
        raise TokenBadClaims(f"Trường roles phải là danh sách khác rỗng gồm: {', '.join(ROLES)}.")
    assert isinstance(subject, str) and isinstance(roles, list)
    return Principal(subject=subject, tenant=tenant, roles=frozenset(roles))


# ---------------------------------------------------------------------------------- key material


def _load_public_key(pem: str) -> RSAPublicKey:
    text = pem.strip()
    if "\n" not in text:  # a PEM squeezed into one environment line, with literal \n
        text = text.replace("\\n", "\n")
    try:
        key = load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise AuthConfigInvalid("THIDUA_JWT_PUBLIC_KEY không phải khóa công khai PEM.") from None
    if not isinstance(key, RSAPublicKey):
        raise AuthConfigInvalid("THIDUA_JWT_PUBLIC_KEY phải là khóa RSA (cho RS256).")
    if key.key_size < MIN_RSA_BITS:
        raise AuthConfigInvalid(f"Khóa RSA phải dài ít nhất {MIN_RSA_BITS} bit.")
    return key


def _checked_jwks_url(url: str) -> str:
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname:
        raise AuthConfigInvalid(
            "THIDUA_JWT_JWKS_URL phải là địa chỉ https (http chỉ được dùng với máy cục bộ)."
        )
    return url


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise AuthConfigInvalid(f"{path}: khóa bí mật trống hoặc quá ngắn; xóa tệp để tạo lại.")
    return secret


def _embedded_secret(data_dir: Path) -> str:
    """``DATA_DIR/jwt-secret``, generated on first use. Two processes starting at once agree:
    the file appears whole (written aside, then linked into place) and the first one wins."""
    path = data_dir / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.chmod(tmp, 0o600)  # whatever the umask
                out.write(secrets.token_urlsafe(48) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)  # fails if another process got there first: keep theirs
            except FileExistsError:
                pass
            except OSError:  # no hard links on this filesystem
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise AuthConfigInvalid(f"Không tạo được {path}: {exc.strerror or exc}.") from None
    return _read_secret(path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
