"""A stateful loopback fake of the GitLab REST API (v4), for tests and the demo (stdlib only).

`FakeGitLab` holds one project (state and `add_*` methods: `GitLabState`) and serves, under
`/api/v4`, what the GitLab adapter and the webhook listener use: the project (by id or URL-encoded
path), members with access levels (`/members/all/:user_id`), `/users?username=`, merge requests
(with `diff_refs`, `/versions`, `/diffs`; create, with 409 for a duplicate), issues (confidential
ones hidden from non-members), notes and discussions on both (replies, diff discussions with a
checked `position`), raw repository files per ref, branches and commits, `POST /pipeline`, and the
pipelines list (filtered by `ref`, `sha`, `status`, `source`, `username`,
`updated_after`/`updated_before`), one pipeline and its variables.
Lists paginate with `per_page` (max 100) and `page`, answering `X-Page`, `X-Per-Page`,
`X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page` and `Link`; errors carry GitLab's
bodies; every request is logged with its arrival time. Fault hooks: `fake.faults` (see
`runner.testing.faults`).

Fault hooks: `fail(route, status, apply=..., times=..., hold=...)` answers a route's next requests
with an error status (502, ...) or a reset connection (status 0), optionally after applying the
request ("apply then fail": the pipeline is created, then the answer is a 502) or after waiting for
an event (a request that hangs until the test lets it go).

Auth: `PRIVATE-TOKEN` (or `Authorization: Bearer`) with `tokens` (token -> username), and
`JOB-TOKEN` with `job_tokens`, which, as on GitLab, only reads the project: other reads answer
404 "Project Not Found" and writes 403.

    with FakeGitLab("group/project", tokens={"glpat-x": "claude_bot"}) as fake:
        fake.add_user("alice", "developer")
        fake.add_merge_request("Fix", iid=7, source_branch="fix", diffs=[{"new_path": "a.py", "diff": "..."}])
        gl = gitlab.Gitlab(fake.base_url, private_token="glpat-x")
"""

from __future__ import annotations

import contextlib
import http
import json
import math
import mimetypes
import secrets
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from runner.testing import gitlab_commits  # noqa: F401  (registers the repository-write handlers)
from runner.testing.faults import Drop, FaultHit, Faults
from runner.testing.gitlab_ci import CI_HANDLERS, CI_READS_NEED, CI_ROUTES, CI_WRITES_NEED, GitLabCIState
from runner.testing.gitlab_endpoints import (
    HANDLERS,
    JOB_TOKEN_ROUTES,
    ROUTES,
    WRITES_NEED,
    Request,
    RequestRecord,
)
from runner.testing.gitlab_render import Renderer, iso
from runner.testing.gitlab_state import ApiError, Commit, GitLabState, MergeRequest, fake_sha
from runner.testing.loopback import FakeServer, LoopbackServer

__all__ = ["ApiError", "FakeGitLab", "GitLabState", "RequestRecord", "RouteFault", "fake_sha"]

MAX_PER_PAGE = 100


@dataclass
class RouteFault:
    """A fault hook on one route (a name of `gitlab_endpoints.ROUTES`, e.g. "create_pipeline").

    `status`: answered instead of the real answer (0: the connection is reset with no answer; None:
    the real answer, for a fault that only holds). `apply`: run the request first ("apply then
    fail"). `hold`: wait until this event is set before anything else (set for every fault when
    the fake stops). `times`: how many requests it hits (None: every one); `hits` counts them."""

    route: str
    status: int | None = 502
    apply: bool = False
    times: int | None = 1
    hold: threading.Event | None = None
    hits: int = 0


class _Reset(Exception):
    """Close the connection without an answer."""


class FakeGitLab(LoopbackServer, GitLabState, GitLabCIState):
    """Loopback GitLab API over one project `path` (state methods: `GitLabState`).

    `tokens`: access tokens (token -> username; the users are added with `token_access`, as bots
    when named like project bots). `job_tokens`: CI job tokens (token -> the user running the job).
    `web_url`: the root of `web_url`s and `http_url_to_repo` (e.g. a `file://` directory holding
    `{path}.git`, so a clone URL points at a local bare repository). `visibility`, `project_id`,
    `default_branch`, `branch_lookup`, `clock`: see `GitLabState`."""

    _thread_name = "fake-gitlab"
    _poll_s = 0.01

    def __init__(
        self,
        path: str = "group/project",
        *,
        tokens: Mapping[str, str] | None = None,
        token_access: str = "maintainer",
        job_tokens: Mapping[str, str] | None = None,
        web_url: str | None = None,
        project_id: int = 278964,
        visibility: str = "private",
        default_branch: str = "main",
        branch_lookup: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            path,
            project_id=project_id,
            visibility=visibility,
            default_branch=default_branch,
            branch_lookup=branch_lookup,
            clock=clock,
        )
        bot = f"project_{project_id}_bot_0123456789abcdef"
        self.tokens = dict(tokens if tokens is not None else {"glpat-fake-token": bot})
        self.job_tokens = dict(job_tokens or {})
        for name in set(self.tokens.values()) - set(self.users):
            self.add_user(name, token_access, bot=name.startswith(("project_", "group_")))
        self.merge_requests_created: list[MergeRequest] = []
        self._web_url, self._address = web_url, (host, port)
        self._records: list[RequestRecord] = []
        self.faults = Faults(clock=clock)  # route faults with retries in mind (faults.py)
        self.git_dir: Path | None = None  # the bare repository the Commits API writes to
        self.api_commits: list[str] = []  # commits the Commits API made
        self.route_faults: list[RouteFault] = []  # the listener's: hold, apply then fail, reset
        self.render = Renderer(self)
        self._init_ci()
        # Files uploaded to the project (markdown `/uploads/<secret>/<name>`): (secret, name) -> bytes.
        self.uploads: dict[tuple[str, str], bytes] = {}

    def add_upload(self, name: str, data: bytes) -> str:
        """Upload ``data`` to the project; returns the path GitLab's markdown uses for it."""
        secret = secrets.token_hex(16)
        self.uploads[(secret, name)] = data
        return f"/uploads/{secret}/{name}"

    # -- lifecycle (LoopbackServer) --------------------------------------------------------------
    def _make_server(self) -> _Server:
        return _Server(self._address, _Handler, self)

    def _before_start(self) -> None:
        self.faults.rearm()

    def _before_shutdown(self) -> None:
        self.faults.release()
        for fault in self.route_faults:  # wake requests a fault holds, so the fake can stop
            if fault.hold is not None:
                fault.hold.set()

    def start(self) -> FakeGitLab:
        """Start serving; object URLs depend on the port, so the renderer is rebuilt."""
        super().start()
        self.render = Renderer(self)
        return self

    def fail(
        self,
        route: str,
        status: int | None = 502,
        *,
        apply: bool = False,
        times: int | None = 1,
        hold: threading.Event | None = None,
    ) -> RouteFault:
        """Add a fault hook on `route` (see `RouteFault`); faults are tried in the order added."""
        if route not in {name for _, _, name in (*ROUTES, *CI_ROUTES)}:
            raise ValueError(f"no route {route!r}")
        fault = RouteFault(route, status, apply, times, hold)
        with self.lock:
            self.route_faults.append(fault)
        return fault

    def _take_fault(self, route: str) -> RouteFault | None:
        with self.lock:
            for fault in self.route_faults:
                if fault.route == route and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None

    @property
    def api_url(self) -> str:
        """`{base_url}/api/v4` (CI_API_V4_URL)."""
        return f"{self.base_url}/api/v4"

    @property
    def web_url(self) -> str:
        """The root of `web_url`s and clone URLs."""
        return (self._web_url or (self.base_url if self._server else "http://gitlab.example")).rstrip("/")

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first."""
        with self.lock:
            return list(self._records)

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        """The requests matched to `route` (e.g. "create_note") with `method`."""
        return [r for r in self.requests if r.method == method and r.route == route]

    def commit(self, sha: str) -> Commit:
        """Commit `sha` (a placeholder for one only `branch_lookup` knows)."""
        with self.lock:
            return self.commits.get(sha) or Commit(sha, "(commit)", "(commit)", created_at=self.created_at)

    def render_iso(self, ts: float | None) -> str | None:
        return iso(ts)

    # -- request handling -------------------------------------------------------------------------
    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        split = urllib.parse.urlsplit(target)
        pairs = urllib.parse.parse_qsl(split.query)
        query = dict(pairs)
        for key in {k for k, _ in pairs if k.endswith("[]")}:  # an array parameter: all its values
            query[key] = ",".join(v for k, v in pairs if k == key)
        record = RequestRecord(method, split.path, query, headers, None, at=time.time())
        extra: dict[str, str] = {}
        try:
            record.body = json.loads(raw) if raw else None
        except ValueError:
            record.body = dict(urllib.parse.parse_qsl(raw.decode(errors="replace")))  # form-encoded
        drop = None
        try:
            status, body = self._dispatch(record)
            if isinstance(body, list):
                body, extra = self._paginate(record, headers.get("host", ""), body)
        except FaultHit as hit:
            fault, drop = hit.fault, None if hit.fault.kind == "status" else hit.fault.kind
            phrase = fault.message or f"{fault.status} {http.HTTPStatus(fault.status or 502).phrase}"
            status, body, extra = fault.status, None if drop else {"message": phrase}, dict(fault.headers)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except _Reset:
            status, body = 0, None
        except Exception as exc:  # a bug in the fake or a test hook: answer rather than hang the client
            status, body = 500, {"message": f"fake_gitlab: {type(exc).__name__}: {exc}"}
        record.status, record.reply = status, body
        self.faults.delay()  # a simulated round trip, when a test or benchmark asks for one
        record.ended = time.monotonic()
        with self.lock:
            self._records.append(record)
        if drop is not None:
            raise Drop(drop)
        return status, body, extra

    def _dispatch(self, record: RequestRecord) -> tuple[int, Any]:
        path = record.path.rstrip("/")
        route = next(
            (
                (name, m)
                for method, rx, name in (*ROUTES, *CI_ROUTES)
                if method == record.method and (m := rx.match(path))
            ),
            None,
        )
        if route is None:
            raise ApiError(404, "404 Not Found", key="error")
        name, match = route
        record.route = name
        request = Request(record, {k: v for k, v in match.groupdict().items()})
        self._authenticate(request)
        record.caller = request.caller
        if "project" in request.params:
            wanted = urllib.parse.unquote(request.params["project"])
            if wanted not in (str(self.project_id), self.path) and not (
                name == "get_project" and wanted.isdigit() and int(wanted) in self.forks
            ):
                raise ApiError(404, "404 Project Not Found")
            if name == "get_project" and wanted.isdigit() and int(wanted) in self.forks:
                return 200, self.render.fork_project(int(wanted), self.forks[int(wanted)])
            self._authorize(request, name)
        if record.method in ("POST", "PUT"):
            if not isinstance(record.body, dict):
                raise ApiError(400, "400 Bad request - the body must be a JSON object")
            request.data = record.body
        fault = self._take_fault(name)
        if fault is None:
            return self.faults.run(name, lambda: {**HANDLERS, **CI_HANDLERS}[name](self, request))
        if fault.hold is not None:
            fault.hold.wait()
        if fault.apply or fault.status is None:
            reply = {**HANDLERS, **CI_HANDLERS}[name](self, request)
            if fault.status is None:
                return reply
        if fault.status == 0:
            raise _Reset
        raise ApiError(fault.status, f"{fault.status} {HTTPStatus(fault.status).phrase}")

    def _authenticate(self, request: Request) -> None:
        headers = request.record.headers
        token = headers.get("private-token") or ""
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        token = token or (bearer.strip() if scheme.lower() == "bearer" else "")
        job = headers.get("job-token") or ""
        with self.lock:
            if token and token in self.tokens:
                request.caller = self.tokens[token]
            elif job and job in self.job_tokens:
                request.caller, request.job_token = self.job_tokens[job], True
            else:
                raise ApiError(401, "401 Unauthorized")
            user = self.user(request.caller)
        if user.state != "active":
            raise ApiError(403, "403 Forbidden - Your account has been blocked.")
        request.level = user.access_level or 0

    def _authorize(self, request: Request, name: str) -> None:
        write = request.record.method != "GET"
        if request.job_token and name not in JOB_TOKEN_ROUTES:
            # GitLab does not take the job token as an identity here: an anonymous caller.
            raise ApiError(403, "403 Forbidden") if write else ApiError(404, "404 Project Not Found")
        if self.visibility != "public" and request.level < 10:
            raise ApiError(404, "404 Project Not Found")
        if request.level < max(
            WRITES_NEED.get(name, 0), CI_WRITES_NEED.get(name, 0), CI_READS_NEED.get(name, 0)
        ):
            raise ApiError(403, "403 Forbidden")

    def _paginate(
        self, record: RequestRecord, host: str, items: list[Any]
    ) -> tuple[list[Any], dict[str, str]]:
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(record.query.get("per_page", 20))))
            page = max(1, int(record.query.get("page", 1)))
        except ValueError:
            raise ApiError(400, "per_page is invalid", key="error") from None
        pages = max(1, math.ceil(len(items) / per_page))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        root = f"http://{host or f'{self._address[0]}:{self.port}'}{record.path}"

        def link(n: int, rel: str) -> str:
            query = urllib.parse.urlencode({**record.query, "page": n, "per_page": per_page})
            return f'<{root}?{query}>; rel="{rel}"'

        rels = [link(page - 1, "prev")] if page > 1 else []
        rels += [link(page + 1, "next")] if page < pages else []
        headers["Link"] = ", ".join([*rels, link(1, "first"), link(pages, "last")])
        return items[(page - 1) * per_page : page * per_page], headers


class _Server(FakeServer):
    fake: FakeGitLab


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

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, body, extra = self.server.fake._handle(method, self.path, headers, raw)
        except Drop as drop:  # an injected fault: no answer at all
            if drop.kind == "hang":
                self.server.fake.faults.wait_hang()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if status == 0:  # a reset: no answer, and an RST rather than a FIN when the socket closes
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        is_raw = isinstance(body, bytes)  # a raw file
        data = body if is_raw else json.dumps(body).encode()
        self.send_response(status)
        content_type = "text/plain; charset=utf-8" if is_raw else "application/json"
        if is_raw and "/uploads/" in self.path:  # GitLab serves an upload by its name's type
            content_type = mimetypes.guess_type(self.path)[0] or "application/octet-stream"
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
