"""``claude-runner github``'s quick acknowledgement: before the job's settings are built (about 50
frozen dataclasses, regular expressions, the model catalog, the provider check...), read the few
inputs that decide it (``settings/quick_ack.py``), decide with pure functions (``decide.py``), ask
the requester's permission and post the tracking comment over one keep-alive ``http.client``
connection. Then the full run builds and checks every setting and takes over (``Handover``).

Conservative: anything it does not fully understand (see ``decide.py`` and ``quick_ack.py``), a
failed or refused request, an answer it cannot read: it stops, and the full run does what it did
before (the permission is asked again, the comment posted with retries). A comment that may have
landed is looked for by the full run before it posts (``Handover.uncertain``). One attempt each,
no retries: a retry is the full run's.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from collections.abc import Callable

from runner import __version__
from runner.quick.comment import first_working_body, may_need_redaction
from runner.quick.decide import permission_at_least, plan_ack
from runner.quick.handover import Handover
from runner.settings.quick_ack import QuickInputs

_ROLES = ("maintain", "triage", "admin", "write", "read")  # as platforms/github_ack.permission


class _Unsent(Exception):
    """The request never left: nothing was applied."""


class _Unclear(Exception):
    """The request went out and no clear answer came back: it may have been applied."""


def acknowledge_quickly(read_inputs: Callable[[], QuickInputs | None]) -> Handover | None:
    """Post the tracking comment now when the event surely gets one (``read_inputs``: the job's,
    ``settings/quick_ack.job_quick_inputs``); None when the full run must decide everything
    (nothing was asked, or what was asked is to be asked again). Never raises."""
    try:
        inputs = read_inputs()
        if inputs is None:
            return None
        with open(inputs.event_path, "rb") as fh:
            payload = json.load(fh)
        if not isinstance(payload, dict):
            return None
        plan = plan_ack(
            inputs.event_name,
            payload,
            trigger_phrase=inputs.trigger_phrase,
            label_trigger=inputs.label_trigger,
            assignee_trigger=inputs.assignee_trigger,
            allowed_bots=inputs.allowed_bots,
            allowed_non_write_users=inputs.allowed_non_write_users,
        )
        if plan is None:
            return None
        return _acknowledge(inputs, plan.number, plan.requester, plan.ask)
    except Exception:  # an unreadable payload, a bug here: the full run does it all, as before
        return None


def _acknowledge(inputs: QuickInputs, number: int, requester: str, ask: str | None) -> Handover | None:
    client = _Client(inputs)
    try:
        level = None
        if ask is not None:
            try:
                level = client.permission(ask)
            except (_Unsent, _Unclear):
                return None  # the full run asks again, with its retries and its errors
            if not permission_at_least(level, inputs.required_permission):
                return Handover(number, requester, ask, level, inputs=inputs)  # refused: the full run replies
        run_id = os.urandom(6).hex()
        body = first_working_body(inputs.job_url, run_id)
        if may_need_redaction(body, inputs.secrets):
            return Handover(number, requester, ask, level, inputs=inputs)
        if inputs.audit_path:
            _audit(inputs.audit_path)
        try:
            comment_id, url = client.create_comment(number, body)
        except _Unsent:
            return Handover(number, requester, ask, level, inputs=inputs)
        except _Unclear:
            return Handover(
                number, requester, ask, level, run_id=run_id, body=body, uncertain=True, inputs=inputs
            )
        handover = Handover(
            number, requester, ask, level,
            comment_id=comment_id, comment_url=url, run_id=run_id, body=body, inputs=inputs,
        )  # fmt: skip
        remember(handover, inputs)
        return handover
    finally:
        client.close()


class _Client:
    """The two requests, on one connection, one attempt each."""

    def __init__(self, inputs: QuickInputs) -> None:
        parts = urllib.parse.urlsplit(inputs.api_url)
        self.root, self.repo = parts.path, inputs.repository
        self.headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {inputs.token}",
            "User-Agent": f"claude-runner/{__version__}",
        }
        if parts.scheme == "https":
            import ssl

            bundle = inputs.ca_bundle
            if bundle is None:
                context = ssl.create_default_context()
            elif os.path.isdir(bundle):
                context = ssl.create_default_context(capath=bundle)
            else:
                context = ssl.create_default_context(cafile=bundle)
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.netloc, timeout=inputs.timeout_s, context=context
            )
        elif parts.scheme == "http":
            self.conn = http.client.HTTPConnection(parts.netloc, timeout=inputs.timeout_s)
        else:
            raise ValueError(f"not an API URL: {inputs.api_url}")

    def permission(self, login: str) -> str:
        path = f"/repos/{self.repo}/collaborators/{urllib.parse.quote(login, safe='[]')}/permission"
        status, data = self._request("GET", path, None)
        if status != 200 or not isinstance(data, dict):
            raise _Unsent(f"{status}")  # nothing was applied by a read
        role = str(data.get("role_name") or "")
        return role if role in _ROLES else str(data.get("permission"))

    def create_comment(self, number: int, body: str) -> tuple[int, str]:
        status, data = self._request("POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": body})
        if status >= 500:
            raise _Unclear(f"{status}")  # GitHub may have made it
        if status != 201:
            raise _Unsent(f"{status}")  # refused: the full run posts, and says why if it fails too
        comment_id = data.get("id") if isinstance(data, dict) else None
        url = data.get("html_url") if isinstance(data, dict) else None
        if not isinstance(comment_id, int) or not isinstance(url, str):
            raise _Unclear("an answer without the comment")
        return comment_id, url

    def _request(self, method: str, path: str, body: dict[str, str] | None) -> tuple[int, object]:
        headers, payload = self.headers, None
        if body is not None:
            payload = json.dumps(body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        try:
            if self.conn.sock is None:
                self.conn.connect()
        except OSError as exc:
            raise _Unsent("no connection") from exc
        try:
            self.conn.request(method, self.root + path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise _Unclear("no answer") from exc
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            data = None
        return response.status, data

    def close(self) -> None:
        self.conn.close()


def remember(
    handover: Handover, inputs: QuickInputs, phase: str = "acknowledged", conclusion: str | None = None
) -> None:
    """The state file names the comment from the moment it exists (as ``flow/ack.py`` does): a job
    cancelled or killed before the run takes over still gets it finalised by ``claude-runner
    finalize``. Loaded once the comment is posted (the run loads it anyway); never raises."""
    try:
        from pathlib import Path

        from runner.flow.state import RunState, StateFile
        from runner.platforms.refs import CommentRef

        assert handover.comment_id is not None and handover.comment_url is not None
        comment = CommentRef(handover.comment_id, handover.comment_url, "issue")
        state = RunState(
            "github", inputs.repo_url, inputs.run_id, inputs.job_url, handover.requester,
            number=handover.number, comment=comment, phase=phase, conclusion=conclusion,
        )  # fmt: skip
        StateFile(Path(inputs.state_path), inputs.token).write(state)
    except Exception:  # the run writes it again when it takes over
        pass


def _audit(path: str) -> None:
    """The names of the modules loaded now, as a JSON list (``CLAUDE_RUNNER_ACK_AUDIT``)."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(sorted(sys.modules)))
    except OSError:
        pass


__all__ = ["acknowledge_quickly"]
