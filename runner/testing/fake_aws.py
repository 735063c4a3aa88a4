"""A loopback fake of AWS STS and the Bedrock runtime, for tests and the demo (stdlib only).

`FakeAWS` serves, on one 127.0.0.1 port:

- STS `POST /` with the query-protocol form body boto3 sends
  (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=...&WebIdentityToken=...`): it decodes
  the JWT, checks its issuer, `aud` (`sts.amazonaws.com`), expiry and `sub` (against the trust
  policy's `StringLike` patterns) and the role ARN, and answers STS's XML: temporary `ASIA...` keys
  expiring `duration` seconds after the fake's clock, or an `ErrorResponse` (`AccessDenied`,
  `InvalidIdentityToken`, `ExpiredTokenException`, `ValidationError`);
- Bedrock runtime `POST /model/{modelId}/invoke` and `/model/{modelId}/invoke-with-response-stream`
  (percent-encoded ids, ARNs included): it verifies the SigV4 signature from the secret it issued
  (or was given) for the request's access key, the session token and the key's expiry, or an
  `Authorization: Bearer` Bedrock API key; it checks the body is a Bedrock Messages body
  (`anthropic_version: bedrock-2023-05-31`, no `model`, no `stream`) and answers with a scripted
  turn from `runner.testing.scripting`: the Messages API JSON, or the SSE events carried in AWS
  event-stream `chunk` frames. Errors use Bedrock's shape: `{"message": ...}` with `x-amzn-ErrorType`.

    with FakeAWS([[tool_use("Read", {"file_path": "a.py"})], [text("Done.")]], role_arn=ROLE) as aws:
        client = bedrock.build_client(...)   # AWS_ENDPOINT_URL_STS / ANTHROPIC_BEDROCK_BASE_URL = aws.url
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import itertools
import json
import secrets
import string
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, unquote
from xml.sax.saxutils import escape

from runner.testing.fake_messages import FakeMessagesAPI
from runner.testing.loopback import FakeServer, LoopbackServer
from runner.testing.scripting import Fault
from runner.testing.sse import JSONDict

__all__ = [
    "BEDROCK_VERSION",
    "BedrockRecord",
    "FakeAWS",
    "IssuedKey",
    "StsRecord",
    "decode_event_stream",
    "encode_event_message",
    "make_jwt",
    "sigv4_signature",
]

BEDROCK_VERSION = "bedrock-2023-05-31"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_CORAL = "http://internal.amazon.com/coral/com.amazon.bedrock/"

# Bedrock runtime's error messages (status, x-amzn-ErrorType, message).
INVALID_MODEL = (400, "ValidationException", "The provided model identifier is invalid.")
NO_MODEL_ACCESS = (
    403,
    "AccessDeniedException",
    "You don't have access to the model with the specified model ID.",
)
ON_DEMAND = (
    400,
    "ValidationException",
    "Invocation of model ID {model} with on-demand throughput isn't supported. Retry your request with "
    "the ID or ARN of an inference profile that contains this model.",
)
MISSING_AUTH = (403, "MissingAuthenticationTokenException", "Missing Authentication Token")
UNKNOWN_KEY = (403, "UnrecognizedClientException", "The security token included in the request is invalid.")
EXPIRED_KEY = (403, "ExpiredTokenException", "The security token included in the request is expired")
BAD_SIGNATURE = (
    403,
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.",
)
BAD_API_KEY = (403, "AccessDeniedException", "Authentication failed: Please make sure your API Key is valid.")
# Faults scripted for the Messages fake, re-shaped as Bedrock answers them.
_FAULT_SHAPES = {
    429: (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    529: (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    500: (500, "InternalServerException", "The system encountered an unexpected error during processing."),
    400: (400, "ValidationException", "Malformed input request, please reformat your input and try again."),
    401: (403, "AccessDeniedException", "Access denied."),
    403: (403, "AccessDeniedException", "Access denied."),
    404: (404, "ResourceNotFoundException", "The requested resource could not be found."),
}

# A Messages stream's `error` event as Bedrock's event stream reports it: a modeled exception frame.
_STREAM_EXCEPTIONS = {
    "rate_limit_error": "throttlingException",
    "overloaded_error": "serviceUnavailableException",
    "api_error": "internalServerException",
    "invalid_request_error": "validationException",
}


# --- helpers shared with the tests ----------------------------------------------------------------


def make_jwt(claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    """An unsigned-looking JWT (the fake does not check signatures) carrying ``claims``."""

    def part(obj: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{part(header or {'alg': 'RS256', 'typ': 'JWT', 'kid': 'fake'})}.{part(claims)}.{signature}"


def _jwt_claims(token: str) -> dict[str, Any] | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def _event_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def encode_event_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC32), string headers, payload, message CRC32."""
    encoded = b"".join(_event_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def chunk_frame(event: Mapping[str, Any]) -> bytes:
    """A Bedrock ``chunk`` event carrying one Messages API stream event."""
    data = json.dumps(event, separators=(",", ":")).encode()
    payload = json.dumps(
        {"bytes": base64.b64encode(data).decode(), "p": "abcdefghijklmnop"[: len(data) % 16]}
    )
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode_event_message(headers, payload.encode())


def exception_frame(kind: str, message: str) -> bytes:
    """A modeled exception frame (e.g. ``throttlingException``) ending a stream."""
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return encode_event_message(headers, json.dumps({"message": message}).encode())


def decode_event_stream(raw: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split event-stream bytes into (headers, payload), checking both CRCs (string headers only)."""
    out: list[tuple[dict[str, str], bytes]] = []
    offset = 0
    while offset < len(raw):
        total, headers_len = struct.unpack_from(">II", raw, offset)
        (prelude_crc,) = struct.unpack_from(">I", raw, offset + 8)
        if zlib.crc32(raw[offset : offset + 8]) != prelude_crc:
            raise ValueError("prelude CRC mismatch")
        (message_crc,) = struct.unpack_from(">I", raw, offset + total - 4)
        if zlib.crc32(raw[offset : offset + total - 4]) != message_crc:
            raise ValueError("message CRC mismatch")
        headers: dict[str, str] = {}
        pos, end = offset + 12, offset + 12 + headers_len
        while pos < end:
            name_len = raw[pos]
            name = raw[pos + 1 : pos + 1 + name_len].decode()
            pos += 1 + name_len
            if raw[pos] != 7:
                raise ValueError(f"header {name}: only string headers are supported")
            (value_len,) = struct.unpack_from(">H", raw, pos + 1)
            headers[name] = raw[pos + 3 : pos + 3 + value_len].decode()
            pos += 3 + value_len
        out.append((headers, raw[end : offset + total - 4]))
        offset += total
    return out


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_signature(
    *,
    secret_key: str,
    method: str,
    raw_path: str,
    headers: Mapping[str, Sequence[str]],
    signed_headers: Sequence[str],
    body: bytes,
    amz_date: str,
    scope: str,
) -> str:
    """The SigV4 signature (hex) of a request as received, from its own canonical request.

    ``raw_path`` is the path (and query) as sent on the wire; non-S3 services sign it URI-encoded
    once more. ``headers`` maps lower-case names to their values; ``scope`` is
    ``date/region/service/aws4_request``.
    """
    path, _, query = raw_path.partition("?")
    pairs = sorted(tuple(p.partition("=")[::2]) for p in query.split("&") if p)
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, ()))}\n" for name in signed_headers
    )
    payload_hash = (
        next(iter(headers.get("x-amz-content-sha256", ())), None) or hashlib.sha256(body).hexdigest()
    )
    canonical = "\n".join(
        [
            method.upper(),
            quote(path or "/", safe="/~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for piece in scope.split("/"):
        key = _hmac(key, piece)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


# --- records ---------------------------------------------------------------------------------------


@dataclass
class IssuedKey:
    """Credentials the fake knows: minted by STS (with a token and expiry) or given as static keys."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expires_at: float | None = None  # on the fake's clock
    role_arn: str | None = None
    subject: str | None = None


@dataclass
class StsRecord:
    """One STS call: what was asked and what it answered."""

    action: str
    params: dict[str, str]
    claims: dict[str, Any] | None
    status: int
    error_code: str | None = None
    access_key_id: str | None = None
    timestamp: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def role_arn(self) -> str | None:
        """The RoleArn parameter."""
        return self.params.get("RoleArn")


@dataclass
class BedrockRecord:
    """One Bedrock runtime request: auth used, model, and the answer."""

    method: str
    path: str
    model_id: str | None
    stream: bool
    headers: dict[str, str]
    body: Any
    auth: str  # "sigv4", "bearer", "none"
    access_key_id: str | None = None
    status: int = 200
    error_type: str | None = None
    signature_valid: bool | None = None
    timestamp: float = 0.0


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    frames: list[bytes] | None = None  # event-stream frames, sent chunked
    drop_after: int | None = None
    hang_s: float | None = None
    delay_s: float = 0.0


def _bedrock_error(shape: tuple[int, str, str], **fmt: str) -> _Answer:
    status, kind, message = shape
    body = json.dumps({"message": message.format(**fmt) if fmt else message}).encode()
    return _Answer(status, {"x-amzn-ErrorType": f"{kind}:{_CORAL}", "content-type": "application/json"}, body)


# --- the fake --------------------------------------------------------------------------------------


class FakeAWS(LoopbackServer):
    """Loopback STS + Bedrock runtime. See the module docstring.

    `turns`: scripted replies (anything `runner.testing.scripting.Turn.coerce` accepts) served in order
    to the runtime's invoke requests. `role_arn`: the role STS lets a web identity assume (others get
    AccessDenied). `trusted_subs`: `StringLike` patterns for the token's `sub` (the trust policy's
    condition); `issuers`: the OIDC providers "created" in the account (None: any); `audience`: the
    required `aud`; `max_session_s`: the role's maximum session duration. `static_keys`: long-lived
    access key id → secret (an "ambient" IAM user). `api_keys`: accepted Bedrock API keys (bearer).
    `models`: model ids served (None: any); `unknown_models` answer ValidationException (invalid id),
    `disabled_models` AccessDeniedException (no model access), `profile_only_models` the on-demand
    throughput ValidationException. `require_auth=False` serves unsigned requests (a gateway).
    `clock`: the time STS expiries and key checks use (tests pass their own)."""

    _thread_name = "fake-aws"

    def __init__(
        self,
        turns: Iterable[Any] = (),
        *,
        role_arn: str = "arn:aws:iam::123456789012:role/claude-runner",
        trusted_subs: Sequence[str] = ("*",),
        issuers: Sequence[str] | None = None,
        audience: str = "sts.amazonaws.com",
        max_session_s: int = 3600,
        static_keys: Mapping[str, str] | None = None,
        api_keys: Iterable[str] = (),
        region: str = "us-east-1",
        models: Iterable[str] | None = None,
        unknown_models: Iterable[str] = (),
        disabled_models: Iterable[str] = (),
        profile_only_models: Iterable[str] = (),
        require_auth: bool = True,
        faults: Iterable[Fault | Mapping[str, Any] | str] = (),
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.role_arn, self.trusted_subs, self.issuers = role_arn, list(trusted_subs), issuers
        self.audience, self.max_session_s, self.region = audience, max_session_s, region
        self.api_keys = set(api_keys)
        self.models = None if models is None else set(models)
        self.unknown_models, self.disabled_models = set(unknown_models), set(disabled_models)
        self.profile_only_models = set(profile_only_models)
        self.require_auth, self.clock = require_auth, clock
        # The Messages fake is used as a library: scripting, faults, message building, cache billing.
        self.messages = FakeMessagesAPI(turns, faults=faults)
        self.keys: dict[str, IssuedKey] = {k: IssuedKey(k, v) for k, v in (static_keys or {}).items()}
        self._sts: list[StsRecord] = []
        self._runtime: list[BedrockRecord] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._address = (host, port)
        self._stopping = threading.Event()

    # -- lifecycle (LoopbackServer) --------------------------------------------------------------
    def _make_server(self) -> _Server:
        return _Server(self._address, _Handler, self)

    def _before_start(self) -> None:
        self._stopping.clear()

    def _before_shutdown(self) -> None:
        self._stopping.set()

    @property
    def url(self) -> str:
        """Base URL for both STS (`AWS_ENDPOINT_URL_STS`) and the runtime (`ANTHROPIC_BEDROCK_BASE_URL`)."""
        return self.base_url

    # -- inspection -------------------------------------------------------------------------------
    @property
    def sts_requests(self) -> list[StsRecord]:
        """Every STS call, oldest first."""
        with self._lock:
            return list(self._sts)

    @property
    def runtime_requests(self) -> list[BedrockRecord]:
        """Every Bedrock runtime request, oldest first."""
        with self._lock:
            return list(self._runtime)

    @property
    def issued(self) -> list[IssuedKey]:
        """Keys minted by STS, oldest first."""
        with self._lock:
            return [k for k in self.keys.values() if k.session_token]

    def add_turns(self, turns: Iterable[Any]) -> None:
        """Append scripted turns."""
        self.messages.add_turns(turns)

    # -- STS --------------------------------------------------------------------------------------
    def _sts_error(self, record: StsRecord, status: int, code: str, message: str) -> _Answer:
        record.status, record.error_code = status, code
        kind = "Receiver" if status >= 500 else "Sender"
        xml = (
            f'<ErrorResponse xmlns="{STS_NS}">\n  <Error>\n    <Type>{kind}</Type>\n'
            f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n  </Error>\n"
            f"  <RequestId>{self._request_id()}</RequestId>\n</ErrorResponse>\n"
        )
        return _Answer(status, {"content-type": "text/xml"}, xml.encode())

    def _request_id(self) -> str:
        raw = f"{next(self._ids):032x}"
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def _handle_sts(self, headers: Mapping[str, Sequence[str]], raw: bytes) -> _Answer:
        params = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace"), keep_blank_values=True).items()}
        action = params.get("Action", "")
        record = StsRecord(action, params, None, 200, timestamp=self.clock())
        record.headers = {k: ",".join(v) for k, v in headers.items()}
        with self._lock:
            self._sts.append(record)
        if action != "AssumeRoleWithWebIdentity" or params.get("Version") != "2011-06-15":
            return self._sts_error(record, 400, "InvalidAction", f"Could not find operation {action}")
        missing = [p for p in ("RoleArn", "RoleSessionName", "WebIdentityToken") if not params.get(p)]
        if missing:
            return self._sts_error(
                record, 400, "MissingParameter", f"The request must contain the parameter {missing[0]}"
            )
        claims = _jwt_claims(params["WebIdentityToken"])
        record.claims = claims
        if claims is None:
            return self._sts_error(
                record, 400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT."
            )
        issuer = str(claims.get("iss", ""))
        if self.issuers is not None and issuer.rstrip("/") not in {i.rstrip("/") for i in self.issuers}:
            return self._sts_error(
                record,
                400,
                "InvalidIdentityToken",
                f"No OpenIDConnect provider found in your account for {issuer}",
            )
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if self.audience not in audiences:
            return self._sts_error(record, 400, "InvalidIdentityToken", "Incorrect token audience")
        now = self.clock()
        if isinstance(claims.get("exp"), int | float) and claims["exp"] <= now:
            return self._sts_error(
                record,
                400,
                "ExpiredTokenException",
                "Token expired: current date/time must be before the expiration date/time.",
            )
        sub = str(claims.get("sub", ""))
        if params["RoleArn"] != self.role_arn or not any(
            fnmatch.fnmatchcase(sub, p) for p in self.trusted_subs
        ):
            return self._sts_error(
                record, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
            )
        duration = int(params.get("DurationSeconds") or 3600)
        if duration > self.max_session_s:
            return self._sts_error(
                record,
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        alphabet = string.ascii_uppercase + "234567"
        key = IssuedKey(
            "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
            base64.b64encode(secrets.token_bytes(30)).decode(),
            "IQoJb3JpZ2luX2Vj" + base64.b64encode(secrets.token_bytes(96)).decode(),
            now + duration,
            params["RoleArn"],
            sub,
        )
        with self._lock:
            self.keys[key.access_key_id] = key
        record.access_key_id = key.access_key_id
        expiration = datetime.fromtimestamp(now + duration, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        role_name = params["RoleArn"].rsplit("/", 1)[-1]
        account = params["RoleArn"].split(":")[4]
        session = params["RoleSessionName"]
        provider = issuer.removeprefix("https://")
        xml = f"""<AssumeRoleWithWebIdentityResponse xmlns="{STS_NS}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>{escape(sub)}</SubjectFromWebIdentityToken>
    <Audience>{escape(self.audience)}</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::{account}:assumed-role/{escape(role_name)}/{escape(session)}</Arn>
      <AssumedRoleId>AROA{next(self._ids):016d}:{escape(session)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>{key.session_token}</SessionToken>
      <SecretAccessKey>{key.secret_access_key}</SecretAccessKey>
      <Expiration>{expiration}</Expiration>
      <AccessKeyId>{key.access_key_id}</AccessKeyId>
    </Credentials>
    <Provider>{escape(provider)}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>{self._request_id()}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
"""
        return _Answer(200, {"content-type": "text/xml"}, xml.encode())

    # -- Bedrock runtime --------------------------------------------------------------------------
    def _check_auth(
        self, record: BedrockRecord, raw_path: str, headers: Mapping[str, Sequence[str]], body: bytes
    ) -> _Answer | None:
        authorization = next(iter(headers.get("authorization", ())), "")
        if authorization.startswith("Bearer "):
            record.auth = "bearer"
            return None if authorization[7:] in self.api_keys else _bedrock_error(BAD_API_KEY)
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return _bedrock_error(MISSING_AUTH) if self.require_auth else None
        record.auth = "sigv4"
        fields = dict(
            part.strip().partition("=")[::2] for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(",")
        )
        credential = fields.get("Credential", "")
        access_key, _, scope = credential.partition("/")
        record.access_key_id = access_key
        key = self.keys.get(access_key)
        if key is None:
            return _bedrock_error(UNKNOWN_KEY)
        token = next(iter(headers.get("x-amz-security-token", ())), None)
        if key.session_token != token:
            return _bedrock_error(UNKNOWN_KEY)
        if key.expires_at is not None and self.clock() >= key.expires_at:
            return _bedrock_error(EXPIRED_KEY)
        amz_date = next(iter(headers.get("x-amz-date", ())), "")
        scope_parts = scope.split("/")
        if (
            len(scope_parts) != 4
            or scope_parts[3] != "aws4_request"
            or not amz_date.startswith(scope_parts[0])
        ):
            return _bedrock_error(BAD_SIGNATURE)
        if scope_parts[1] != self.region:
            return _bedrock_error(
                (403, "InvalidSignatureException", "Credential should be scoped to a valid region.")
            )
        if scope_parts[2] != "bedrock":
            return _bedrock_error(
                (
                    403,
                    "InvalidSignatureException",
                    "Credential should be scoped to correct service: 'bedrock'.",
                )
            )
        signed = [h for h in fields.get("SignedHeaders", "").split(";") if h]
        if "host" not in signed or "x-amz-date" not in signed:
            return _bedrock_error(BAD_SIGNATURE)
        expected = sigv4_signature(
            secret_key=key.secret_access_key,
            method=record.method,
            raw_path=raw_path,
            headers=headers,
            signed_headers=signed,
            body=body,
            amz_date=amz_date,
            scope=scope,
        )
        record.signature_valid = hmac.compare_digest(expected, fields.get("Signature", ""))
        return None if record.signature_valid else _bedrock_error(BAD_SIGNATURE)

    def _handle_runtime(
        self, method: str, raw_path: str, headers: Mapping[str, Sequence[str]], raw: bytes
    ) -> _Answer:
        segments = raw_path.split("?")[0].split("/")
        operation = segments[3] if len(segments) == 4 and segments[1] == "model" else ""
        model_id = unquote(segments[2]) if operation else None
        record = BedrockRecord(
            method,
            raw_path,
            model_id,
            operation == "invoke-with-response-stream",
            {k: ",".join(v) for k, v in headers.items()},
            None,
            "none",
            timestamp=self.clock(),
        )
        with self._lock:
            self._runtime.append(record)
        answer = self._runtime_answer(record, method, operation, raw_path, headers, raw)
        record.status = answer.status
        record.error_type = answer.headers.get("x-amzn-ErrorType", "").split(":")[0] or None
        answer.headers.setdefault("x-amzn-RequestId", self._request_id())
        return answer

    def _runtime_answer(
        self,
        record: BedrockRecord,
        method: str,
        operation: str,
        raw_path: str,
        headers: Mapping[str, Sequence[str]],
        raw: bytes,
    ) -> _Answer:
        if method != "POST" or operation not in ("invoke", "invoke-with-response-stream"):
            return _bedrock_error((404, "UnknownOperationException", "Unknown operation"))
        problem = self._check_auth(record, raw_path, headers, raw)
        if problem is not None:
            return problem
        try:
            body = json.loads(raw)
        except ValueError:
            return _bedrock_error(_FAULT_SHAPES[400])
        record.body = body
        if not isinstance(body, dict):
            return _bedrock_error(_FAULT_SHAPES[400])
        for extraneous in ("model", "stream"):
            if extraneous in body:
                return _bedrock_error(
                    (
                        400,
                        "ValidationException",
                        f"Malformed input request: #: extraneous key [{extraneous}] is not permitted, "
                        "please reformat your input and try again.",
                    )
                )
        if body.get("anthropic_version") != BEDROCK_VERSION:
            return _bedrock_error(
                (
                    400,
                    "ValidationException",
                    "Malformed input request: #: required key [anthropic_version] not found",
                )
            )
        model = record.model_id or ""
        if model in self.unknown_models or (self.models is not None and model not in self.models):
            return _bedrock_error(INVALID_MODEL)
        if model in self.disabled_models:
            return _bedrock_error(NO_MODEL_ACCESS)
        if model in self.profile_only_models:
            return _bedrock_error(ON_DEMAND, model=model)
        request = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
        request.update(model=model, stream=record.stream)
        reply = self.messages._handle(
            "POST",
            "/v1/messages",
            {"x-api-key": "bedrock", "anthropic-version": "2023-06-01"},
            json.dumps(request).encode(),
        )
        if reply.hang_s is not None:
            return _Answer(0, hang_s=reply.hang_s)
        if reply.status != 200:
            shape = _FAULT_SHAPES.get(reply.status, _FAULT_SHAPES[500])
            answer = _bedrock_error(shape)
            if "retry-after" in reply.headers:
                answer.headers["retry-after"] = reply.headers["retry-after"]
            return answer
        message: JSONDict = reply.body
        usage = message.get("usage") or {}
        metrics = {
            "inputTokenCount": usage.get("input_tokens", 0),
            "outputTokenCount": usage.get("output_tokens", 0),
            "invocationLatency": 50,
            "firstByteLatency": 20,
        }
        common = {
            "X-Amzn-Bedrock-Input-Token-Count": str(metrics["inputTokenCount"]),
            "X-Amzn-Bedrock-Output-Token-Count": str(metrics["outputTokenCount"]),
            "X-Amzn-Bedrock-Invocation-Latency": "50",
        }
        if reply.events is None:
            payload = reply.raw_body if reply.raw_body is not None else json.dumps(message).encode()
            return _Answer(
                200,
                {**common, "content-type": "application/json"},
                payload,
                delay_s=reply.delay_s,
                drop_after=reply.drop_after,
            )
        frames = []
        for name, data in reply.events:
            if name == "message_stop":
                data = {**data, "amazon-bedrock-invocationMetrics": metrics}
            frames.append(chunk_frame(data))
        if reply.fault is not None and reply.fault.kind == "stream_error":
            error = reply.fault.error_body()[1]["error"]
            kind = _STREAM_EXCEPTIONS.get(error["type"], "modelStreamErrorException")
            frames.append(exception_frame(kind, error["message"]))
        return _Answer(
            200,
            {
                "content-type": "application/vnd.amazon.eventstream",
                "x-amzn-bedrock-content-type": "application/json",
            },
            frames=frames,
            drop_after=reply.drop_after,
            delay_s=reply.delay_s,
        )

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, Sequence[str]], raw: bytes
    ) -> _Answer:
        route = raw_path.split("?")[0]
        try:
            if route in ("", "/") and method == "POST":
                return self._handle_sts(headers, raw)
            return self._handle_runtime(method, raw_path, headers, raw)
        except Exception as exc:  # a bug in the fake or a broken script: answer rather than hang the client
            return _bedrock_error((500, "InternalServerException", f"fake_aws: {type(exc).__name__}: {exc}"))

    def _wait(self, seconds: float) -> bool:
        return not self._stopping.wait(seconds) if seconds > 0 else True


class _Server(FakeServer):
    fake: FakeAWS


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        fake = self.server.fake
        answer = fake._handle(method, self.path, headers, raw)
        if answer.hang_s is not None:
            fake._wait(answer.hang_s)
            self.close_connection = True
            return
        if not fake._wait(answer.delay_s):
            self.close_connection = True
            return
        self.send_response(answer.status)
        if answer.frames is None:
            for name, value in {**answer.headers, "content-length": str(len(answer.body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if answer.drop_after is not None:
                self.wfile.write(answer.body[: len(answer.body) // 2])
                self.close_connection = True
                return
            self.wfile.write(answer.body)
            return
        for name, value in {**answer.headers, "transfer-encoding": "chunked"}.items():
            self.send_header(name, value)
        self.end_headers()
        for i, frame in enumerate(answer.frames):
            if answer.drop_after is not None and i >= answer.drop_after:
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
