"""The acknowledgement's two calls to GitHub (who asked may ask; the tracking comment) over the
standard library's ``http.client``, before PyGithub (requests, PyJWT, cryptography: ~400 modules)
is loaded. The rest of the run goes through ``github.py`` as before.

Same rules as the PyGithub adapter: the retries of ``retry.py`` (a read is tried again on a 5xx,
a 429, a rate limit or a failed connection; the comment, a write that creates something, is never
sent twice blindly: after an ambiguous failure it is looked for first, ``write_once``), the same
one-line errors, the same seal on the body when the token acts as a person (``seal.py``), and the
same HTTP keep-alive connection for every call.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import __version__
from runner.errors import CredentialsError, PlatformError, PlatformUnavailable
from runner.platforms.github_errors import STATUS_PAGE, data_message, refusal
from runner.platforms.refs import CommentRef
from runner.platforms.retry import (
    RETRY_STATUSES,
    SAFE_METHODS,
    ApiRetryPolicy,
    Backoff,
    Clock,
    Log,
    rate_limited,
    write_once,
)
from runner.platforms.seal import Seal, seal_for

LOOKBACK_S = 300  # as github.py: how far back a comment that landed may be looked for


@dataclass
class Answer:
    """One HTTP answer: its status, lower-cased headers and JSON body (None when there is none)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None


class AnswerError(Exception):
    """GitHub answered with an error status."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.status} {_message(answer.data)}")
        self.answer = answer


class NoAnswer(Exception):
    """A request that got no answer: ``what`` went wrong ("connection refused", "timeout"...) and
    whether the request may have been applied (it was sent before the failure)."""

    def __init__(self, what: str, maybe_applied: bool, *, retryable: bool = True) -> None:
        super().__init__(what)
        self.what, self.maybe_applied, self.retryable = what, maybe_applied, retryable


class GitHubAckClient:
    """The calls of the acknowledgement to one repository of ``api_url`` with ``token``; HTTPS
    verified with ``ca_bundle`` (a file or directory of PEM certificates), else the system's.

    ``on_sent`` (of ``create_comment``) is called once the comment's request has gone out, before
    its answer is read: the run starts loading the rest of itself then (``flow/ack.py``)."""

    name = "github"

    def __init__(
        self,
        repo_full_name: str,
        token: str,
        *,
        api_url: str,
        retry: ApiRetryPolicy | None = None,
        log: Log | None = None,
        clock: Clock | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        self.repo_full_name, self.token, self.ca_bundle = repo_full_name, token, ca_bundle
        parts = urllib.parse.urlsplit(api_url.rstrip("/"))
        self.scheme, self.netloc, self.root = parts.scheme, parts.netloc, parts.path
        self.backoff = Backoff("GitHub", retry, log=log, clock=clock)
        self.requests = 0
        self.authenticated = False  # a request has succeeded with our token
        self._conn: http.client.HTTPConnection | None = None
        self._identity: str | None = None  # "" once GitHub would not say
        self._seal: Seal | None = None

    # --- the two calls ---------------------------------------------------------------------
    def permission(self, login: str) -> str:
        """The collaborator permission (admin, maintain, write, triage, read, none)."""
        path = self._repo(f"/collaborators/{urllib.parse.quote(login, safe='[]')}/permission")
        data = self.call(f"check {login}'s permission", lambda: self.request("GET", path).data)
        role = str(data.get("role_name") or "")
        # role_name distinguishes maintain/triage, which "permission" folds into write/read.
        return (
            role if role in ("maintain", "triage", "admin", "write", "read") else str(data.get("permission"))
        )

    def create_comment(
        self, number: int, body: str, *, on_sent: Callable[[], None] | None = None
    ) -> CommentRef:
        """A new conversation comment on the issue or PR, made once (see the module's docstring)."""
        body = self.seal().sign(body)  # a runner acting as a person seals what it writes
        path, since = self._repo(f"/issues/{number}/comments"), self.backoff.since(LOOKBACK_S)

        def send() -> dict[str, Any]:
            answer = self.request("POST", path, {"body": body}, on_sent=on_sent)
            return dict(answer.data)

        data = self.call(
            "post a comment",
            lambda: write_once(
                self.backoff, "POST", path, send=send, ambiguous=_ambiguous,
                landed=lambda: self._own(path, body, since), noun="comment",
            ),
        )  # fmt: skip
        return CommentRef(int(data["id"]), str(data["html_url"]), "issue")

    def update_comment(self, ref: CommentRef, body: str) -> None:
        """Replace a conversation comment's body (a final state written before PyGithub loads)."""
        body = self.seal().sign(body)
        path = self._repo(f"/issues/comments/{ref.id}")
        self.call("update a comment", lambda: self.request("PATCH", path, {"body": body}))

    def find_own_comment(self, number: int, body: str) -> CommentRef | None:
        """Our comment on ``number`` saying exactly ``body``, posted in the last minutes: one whose
        request went out without a clear answer (the quick acknowledgement's, ``runner/quick/``)."""
        path, since = self._repo(f"/issues/{number}/comments"), self.backoff.since(LOOKBACK_S)
        found = self.call(
            "look for the tracking comment", lambda: self._own(path, self.seal().sign(body), since)
        )
        return CommentRef(int(found["id"]), str(found["html_url"]), "issue") if found else None

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- who we are (as GitHubClient.seal) -------------------------------------------------------
    def seal(self) -> Seal:
        """The seal of the bodies we write: none for an installation token (Actions' or an App's, a
        bot's), else keyed from the token when ``GET /user`` says it acts as a person."""
        if self._seal is None:
            if self.token.startswith("ghs_"):
                self._seal = seal_for(self.token, person=False)
            else:
                login = self.identity() or ""
                self._seal = seal_for(self.token, person=bool(login) and not login.endswith("[bot]"))
        return self._seal

    def identity(self) -> str | None:
        """The login the token acts as; None when GitHub will not say (401/403 on ``GET /user``)."""
        if self._identity is None:
            try:
                self._identity = str(self.call("read the token's user", lambda: self.get("/user"))["login"])
            except PlatformError as exc:
                cause = exc.__cause__
                if not isinstance(cause, AnswerError) or cause.answer.status not in (401, 403):
                    raise
                self._identity = ""
        return self._identity or None

    def is_own(self, user: Mapping[str, Any] | None) -> bool:
        """Whether ``user`` is the runner: its login when known, else any bot."""
        if not user:
            return False
        login = self.identity()
        return user.get("login") == login if login else user.get("type") == "Bot"

    def _own(self, path: str, body: str, since: str) -> dict[str, Any] | None:
        """Our newest comment at ``path`` since ``since`` saying exactly ``body``: a comment that
        landed although its answer was lost."""
        answer = self.request("GET", _with_query(path, {"since": since, "per_page": 100}))
        want = body.replace("\r\n", "\n").strip()
        mine = [
            c for c in answer.data or []
            if str(c.get("body") or "").replace("\r\n", "\n").strip() == want and self.is_own(c.get("user"))
        ]  # fmt: skip
        return dict(mine[-1]) if mine else None

    # --- transport -------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        """GET ``path``'s JSON (an error status raises ``AnswerError``)."""
        return self.request("GET", path).data

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        on_sent: Callable[[], None] | None = None,
    ) -> Answer:
        """One call, retried as ``retry.py`` says; an error status raises ``AnswerError``, no
        answer ``NoAnswer``."""
        started, attempt, safe = self.backoff.clock.monotonic(), 1, method in SAFE_METHODS
        while True:
            last: Exception
            try:
                answer = self._once(method, path, body, on_sent)
            except NoAnswer as failure:
                if (failure.maybe_applied and not safe) or not failure.retryable:
                    raise  # a write to look for first (write_once), or a certificate problem
                what, headers, last = failure.what, None, failure
            else:
                if answer.status < 400:
                    self.authenticated = True
                    return answer
                limited = answer.status == 429 or rate_limited(answer.headers)
                refused = answer.status == 403 and not limited
                if answer.status not in RETRY_STATUSES or refused or (answer.status >= 500 and not safe):
                    raise AnswerError(answer)
                what, headers, last = str(answer.status), answer.headers, AnswerError(answer)
            wait = self.backoff.next_wait(attempt, started, headers)
            if wait is None:
                raise last
            self.backoff.retrying(what, method, urllib.parse.urlsplit(path).path, wait, attempt)
            self.backoff.clock.sleep(wait)
            attempt += 1

    def _once(
        self, method: str, path: str, body: dict[str, Any] | None, on_sent: Callable[[], None] | None
    ) -> Answer:
        self.requests += 1
        conn = self._connection()
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "User-Agent": f"claude-runner/{__version__}",
        }
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if conn.sock is None:
                conn.connect()
        except ssl.SSLError as exc:
            self.close()
            raise NoAnswer(f"TLS error ({exc.reason or exc})", False, retryable=False) from exc
        except TimeoutError as exc:
            self.close()
            raise NoAnswer("connection timeout", False) from exc
        except OSError as exc:
            self.close()
            raise NoAnswer("connection refused", False) from exc
        try:
            conn.request(method, self.root + path, body=payload, headers=headers)
            if on_sent is not None:
                on_sent()
            response = conn.getresponse()
            raw = response.read()
        except TimeoutError as exc:
            self.close()
            raise NoAnswer("timeout", True) from exc
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
            self.close()
            raise NoAnswer("connection reset", True) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NoAnswer("connection error", True) from exc
        if response.will_close:
            self.close()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            data = None
        return Answer(response.status, answer_headers, data)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.backoff.policy.timeout_s
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self.netloc, timeout=timeout, context=_tls_context(self.ca_bundle)
                )
            else:
                self._conn = http.client.HTTPConnection(self.netloc, timeout=timeout)
        return self._conn

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` (which makes requests), turning failures into one-line errors naming ``what``,
        as ``GitHubClient.call`` does."""
        self.backoff.begin()
        try:
            return fn()
        except AnswerError as exc:
            raise self.error(what, exc.answer) from exc
        except NoAnswer as exc:
            raise PlatformUnavailable(
                f"GitHub API unreachable while trying to {what}: {exc.what}{self.backoff.after()}",
                f"check that {self.netloc} answers ({STATUS_PAGE}), then run the job again",
            ) from exc

    def error(self, what: str, answer: Answer) -> PlatformError | CredentialsError:
        """GitHub's refusal as one of our errors (the messages of ``GitHubClient.error``)."""
        message = f"{answer.status} {_message(answer.data)}"
        return refusal(
            what,
            answer.status,
            message,
            answer.headers,
            authenticated=self.authenticated,
            backoff=self.backoff,
        )

    def _repo(self, suffix: str = "") -> str:
        return f"/repos/{self.repo_full_name}{suffix}"


def _ambiguous(exc: Exception) -> str | None:
    """Why ``exc`` may have left a write applied ("502", "timeout", "connection reset"), or None."""
    if isinstance(exc, AnswerError) and exc.answer.status >= 500:
        return str(exc.answer.status)
    if isinstance(exc, NoAnswer) and exc.maybe_applied:
        return exc.what
    return None


def _tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    if ca_bundle is None:
        return ssl.create_default_context()
    if ca_bundle.is_dir():
        return ssl.create_default_context(capath=str(ca_bundle))
    return ssl.create_default_context(cafile=str(ca_bundle))


def _with_query(path: str, params: Mapping[str, Any]) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}"


def _message(data: Any) -> str:
    return data_message(data) or "(no message)"


__all__ = ["Answer", "AnswerError", "GitHubAckClient", "NoAnswer"]
