"""A stateful loopback fake of the GitHub REST API, for tests and the demo (stdlib only).

`FakeGitHub` holds one repository (see `GitHubState` for the `add_*` state methods and getters)
and serves the endpoints the GitHub adapter uses, github.com style at `/` and GHES style at
`/api/v3/`: the repository, collaborator permission, issues and their comments, pull requests
with files, review comments and reviews, creating pull requests, reviews and replies, the GitHub
App installation-token flow, `GET /user` and `GET /rate_limit`; and GraphQL's `POST /graphql`
(GHES: `/api/graphql`) for the comments of an issue or pull request (see `github_graphql`).
Lists paginate with `per_page`, `page` and a `Link` header as GitHub's do; errors carry GitHub's
bodies; every request is logged. Fault hooks: `fake.faults` (see `runner.testing.faults`); answers the
description allows that break careless clients: `delete_user` (`user: null`), `string_labels`.

    with FakeGitHub("octo-org", "hello-world", tokens=["ghp_test"]) as fake:
        fake.add_user("alice", permission="write")
        fake.add_pull(7, head_ref="fix", files=[{"filename": "a.py", "patch": "@@ -1 +1 @@\\n-a\\n+b"}])
        gh = github.Github(auth=github.Auth.Token("ghp_test"), base_url=fake.base_url)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http
import itertools
import json
import secrets
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from runner.testing import github_commits
from runner.testing import github_graphql as graphql
from runner.testing.faults import Drop, FaultHit, Faults
from runner.testing.github_ci import BLOB_PREFIX, CI_ENDPOINTS, CI_NEEDS, CI_ROUTES, CIState, serve_blob
from runner.testing.github_endpoints import (
    APP_ROUTES,
    DEFAULT_APP_PERMISSIONS,
    ENDPOINTS,
    NEEDS,
    RATE_LIMIT,
    ROUTES,
    Reply,
    Request,
    RequestRecord,
)
from runner.testing.github_model import (
    ApiError,
    Comment,
    Issue,
    PullFile,
    Review,
    ReviewComment,
    User,
    not_found,
)
from runner.testing.github_objects import Urls, iso, repo_object, user_object
from runner.testing.github_state import GitHubState
from runner.testing.loopback import FakeServer, LoopbackServer

__all__ = [
    "ApiError",
    "Comment",
    "FakeGitHub",
    "GitHubState",
    "Issue",
    "PullFile",
    "RequestRecord",
    "Review",
    "ReviewComment",
    "User",
    "iso",
    "repo_object",
    "user_object",
]


class FakeGitHub(LoopbackServer, GitHubState, CIState):
    """Loopback GitHub REST API over one repository `owner`/`repo` (state methods: `GitHubState`).

    `tokens`: accepted tokens (`Authorization: token X` or `Bearer X`), a mapping token -> login or
    an iterable of tokens that act as `token_user` (added with `token_permission`). GitHub App:
    `app_id` must be the JWT's `iss`; `installation_id` is the repository's installation, whose
    minted `ghs_` tokens act as `{app_slug}[bot]`. `ghes`: object URLs use the `/api/v3` root.
    `web_url`: the root of `html_url`s (default: the fake itself). `owner_type`, `private`,
    `default_branch`, `default_sha`, `branch_lookup`, `clock`: see `GitHubState`."""

    _thread_name = "fake-github"
    _poll_s = 0.01

    def __init__(
        self,
        owner: str = "octo-org",
        repo: str = "hello-world",
        *,
        tokens: Mapping[str, str] | Iterable[str] = ("ghp_fake_token",),
        token_user: str = "github-actions[bot]",
        token_permission: str = "write",
        app_id: int = 123456,
        installation_id: int = 4242424,
        app_slug: str = "claude-runner",
        app_permissions: Mapping[str, str] | None = None,
        ghes: bool = False,
        web_url: str | None = None,
        owner_type: str = "Organization",
        private: bool = False,
        default_branch: str = "main",
        default_sha: str | None = None,
        branch_lookup: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            owner,
            repo,
            owner_type=owner_type,
            private=private,
            default_branch=default_branch,
            default_sha=default_sha,
            branch_lookup=branch_lookup,
            clock=clock,
        )
        self.tokens = dict(tokens) if isinstance(tokens, Mapping) else dict.fromkeys(tokens, token_user)
        for login in set(self.tokens.values()) - set(self.users):
            self.add_user(
                login, type="Bot" if login.endswith("[bot]") else "User", permission=token_permission
            )
        self.app_id, self.installation_id, self.app_slug = app_id, installation_id, app_slug
        self.app_permissions = dict(app_permissions or DEFAULT_APP_PERMISSIONS)
        self.installation_tokens: dict[str, dict[str, Any]] = {}
        self.revoked_tokens: set[str] = set()
        self.ghes, self._web_url, self._address = ghes, web_url, (host, port)
        # Images uploaded to comments: id -> (content type, bytes), served at
        # {base_url}/user-attachments/assets/{id} as github.com serves them; every fetch is recorded.
        self.attachments: dict[str, tuple[str, bytes]] = {}
        self.attachment_requests: list[tuple[str, str]] = []  # (path, authorization header)
        self.add_user(f"{app_slug}[bot]", type="Bot", permission="write")
        self._records: list[RequestRecord] = []
        self.faults = Faults(clock=clock)
        self._faults: dict[tuple[str, str], tuple[list[int], bool, float]] = {}
        self.rate_used: dict[str, int] = {}
        self.rate_reset = int(time.time()) + 3600
        self._ids = itertools.count(1)
        self.git_dir: Path | None = None  # the bare repository createCommitOnBranch writes to
        self.signed_commits: list[str] = []  # commits createCommitOnBranch made (GitHub signs them)
        self._init_ci()

    # -- lifecycle (LoopbackServer) --------------------------------------------------------------
    def _make_server(self) -> _Server:
        return _Server(self._address, _Handler, self)

    def _before_start(self) -> None:
        self.faults.rearm()

    def _before_shutdown(self) -> None:
        self.faults.release()

    @property
    def api_url(self) -> str:
        """The GHES-style API root, `{base_url}/api/v3`."""
        return f"{self.base_url}/api/v3"

    @property
    def web_url(self) -> str:
        """The root of `html_url`s and clone URLs."""
        return (self._web_url or self.base_url).rstrip("/")

    @property
    def urls(self) -> Urls:
        """The roots object URLs are built from."""
        return Urls(self.api_url if self.ghes else self.base_url, self.web_url)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first."""
        with self.lock:
            return list(self._records)

    def request_count(self, method: str, route: str) -> int:
        """How many requests were matched to `route` (e.g. "list_comments") with `method`."""
        return len(self.requests_to(method, route))

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        """The requests matched to route `route` (e.g. "list_comments") with `method`."""
        return [r for r in self.requests if r.method == method and r.route == route]

    def add_attachment(self, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` as an uploaded image; returns its URL (on this fake's own address)."""
        asset = str(uuid.uuid4())
        self.attachments[asset] = (content_type, data)
        return f"{self.base_url}{ATTACHMENTS}{asset}"

    def fail_route(
        self, method: str, route: str, *statuses: int, repeat: bool = False, delay_s: float = 0.0
    ) -> None:
        """Fault hook: answer the next requests to `route` (e.g. "edit_comment") with `method`
        with `statuses`, one per request in order, each after `delay_s`; with `repeat` the last
        status answers every later request too. Nothing is applied; requests are logged as usual.
        `fail_route(method, route)` with no statuses removes the fault."""
        with self.lock:
            if statuses:
                self._faults[(method.upper(), route)] = (list(statuses), repeat, delay_s)
            else:
                self._faults.pop((method.upper(), route), None)

    def _injected_fault(self, method: str, route: str) -> ApiError | None:
        with self.lock:
            fault = self._faults.get((method, route))
            if fault is None:
                return None
            statuses, repeat, delay_s = fault
            status = statuses[0] if repeat and len(statuses) == 1 else statuses.pop(0)
            if not statuses:
                del self._faults[(method, route)]
        if delay_s:
            time.sleep(delay_s)
        return ApiError(status, {502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Server Error"))

    def mint_installation_token(self, permissions: Mapping[str, str] | None = None) -> str:
        """Mint an installation token directly (as `POST .../access_tokens` would)."""
        token = "ghs_" + secrets.token_hex(18)
        with self.lock:
            granted = dict(permissions or self.app_permissions)
            expires = self.clock() + 3600  # an hour, by the fake's clock (tests may move it)
            self.installation_tokens[token] = {"expires_at": expires, "permissions": granted}
        return token

    # -- request handling -------------------------------------------------------------------------
    def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        split = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(split.query))
        record = RequestRecord(method, split.path, query, headers, None)
        try:
            record.body = json.loads(raw) if raw else None
        except ValueError:
            record.body = raw.decode(errors="replace")
        injected: dict[str, str] = {}
        drop = None
        try:
            reply = self._dispatch(record)
        except FaultHit as hit:
            fault, drop = hit.fault, None if hit.fault.kind == "status" else hit.fault.kind
            message = fault.message or http.HTTPStatus(fault.status or 502).phrase
            reply, injected = (
                Reply(fault.status, None if drop else ApiError(fault.status, message).body()),
                dict(fault.headers),
            )
        except ApiError as exc:
            reply = Reply(exc.status, exc.body())
        except Exception as exc:  # a bug in the fake or a test hook: answer rather than hang the client
            reply = Reply(500, ApiError(500, f"fake_github: {type(exc).__name__}: {exc}").body())
        reply.headers.update({**self._common_headers(record), **injected})
        record.status, record.reply = reply.status, reply.body
        self.faults.delay()  # a simulated round trip, when a test or benchmark asks for one
        record.ended = time.monotonic()
        with self.lock:
            self._records.append(record)
        if drop is not None:
            raise Drop(drop)
        return reply

    def _common_headers(self, record: RequestRecord) -> dict[str, str]:
        who = record.headers.get("authorization", "")
        with self.lock:
            used = self.rate_used[who] = self.rate_used.get(who, 0) + 1
        return {
            "x-github-request-id": f"{secrets.token_hex(4).upper()}:{next(self._ids):08X}",
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(max(0, RATE_LIMIT - used)),
            "x-ratelimit-reset": str(self.rate_reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }

    def _dispatch(self, record: RequestRecord) -> Reply:
        if record.path.startswith(BLOB_PREFIX):  # the log host a job log's redirect points to
            record.route = "blob"
            status, raw = serve_blob(self, record.path, record.query, record.headers)
            return Reply(status, None, {"content-type": "text/plain; charset=utf-8"}, raw=raw)
        path = record.path.removeprefix("/api/v3") if record.path.startswith("/api/v3/") else record.path
        path = path.rstrip("/") or "/"
        if record.method == "POST" and path in graphql.PATHS:  # one endpoint for every query: no REST route
            record.route = "graphql"
            request = Request(record, {})
            self._authenticate(request, app=False)
            if not isinstance(record.body, dict):
                raise ApiError(400, "Problems parsing JSON")
            # Write mutations (createRef, createCommitOnBranch) go to the bare repository in git_dir.
            return self.faults.run(
                "graphql", lambda: github_commits.serve(self, request) or graphql.serve(self, request)
            )
        route = next(
            (
                (name, m)
                for method, rx, name in (*ROUTES, *CI_ROUTES)
                if method == record.method and (m := rx.match(path))
            ),
            None,
        )
        if route is None:
            raise not_found()
        name, match = route
        record.route = name
        params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
        request = Request(record, params)
        self._authenticate(request, app=name in APP_ROUTES)
        if "owner" in params and f"{params['owner']}/{params['repo']}".lower() != self.full_name.lower():
            raise not_found()
        self._authorize(request, name)
        fault = self._injected_fault(record.method, name)
        if fault is not None:
            raise fault
        if record.method in ("POST", "PATCH") and not isinstance(record.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.faults.run(name, lambda: {**ENDPOINTS, **CI_ENDPOINTS}[name](self, request))

    def _authenticate(self, request: Request, *, app: bool) -> None:
        scheme, _, credential = request.record.headers.get("authorization", "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() not in ("token", "bearer") or not credential:
            raise ApiError(401, "Requires authentication")
        if app:
            if scheme.lower() != "bearer" or not self._valid_jwt(credential):
                raise ApiError(401, "A JSON web token could not be decoded")
            request.token = credential
            return
        with self.lock:
            minted = self.installation_tokens.get(credential)
            if credential in self.tokens:
                request.caller = self.tokens[credential]
            elif minted and credential not in self.revoked_tokens and minted["expires_at"] > self.clock():
                request.caller = f"{self.app_slug}[bot]"
            else:
                raise ApiError(401, "Bad credentials")
        request.token = credential

    def _valid_jwt(self, token: str) -> bool:
        """A structurally valid App JWT: header.payload.signature, `iss` == app id, `iat` not in the
        future and `exp` in the future but at most 10 minutes ahead (the signature is not checked)."""
        parts = token.split(".")
        if len(parts) != 3:
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, binascii.Error):
            return False
        if not isinstance(claims, dict) or not all(k in claims for k in ("iss", "iat", "exp")):
            return False
        now = time.time()
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except (TypeError, ValueError):
            return False
        return str(claims["iss"]) == str(self.app_id) and iat <= now + 60 and now < exp <= now + 660

    def _authorize(self, request: Request, name: str) -> None:
        minted = self.installation_tokens.get(request.token)
        needs = NEEDS.get(name) or CI_NEEDS.get(name)
        if minted and needs and not any(minted["permissions"].get(p) == "write" for p in needs):
            raise ApiError(403, "Resource not accessible by integration")


ATTACHMENTS = "/user-attachments/assets/"


class _Server(FakeServer):
    fake: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes; with Nagle's algorithm and delayed ACKs each
    # response on a kept-alive connection would stall ~40 ms.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if method == "GET" and self.path.startswith(ATTACHMENTS):
            self._attachment(headers)
            return
        try:
            reply = self.server.fake._handle(method, self.path, headers, raw)
        except Drop as drop:  # an injected fault: no answer at all
            if drop.kind == "hang":
                self.server.fake.faults.wait_hang()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.raw is not None or reply.status == 302:  # a log as text, or a redirect
            body = reply.raw or b""
        else:
            body = b"" if reply.status == 204 else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if reply.status not in (204, 302) and "content-type" not in reply.headers:
            self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _attachment(self, headers: dict[str, str]) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.attachment_requests.append((self.path, headers.get("authorization", "")))
            found = fake.attachments.get(self.path.removeprefix(ATTACHMENTS))
        content_type, body = found or ("text/plain; charset=utf-8", b"Not Found")
        self.send_response(200 if found else 404)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
