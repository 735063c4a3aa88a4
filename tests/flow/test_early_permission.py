"""The requester's permission is asked as soon as they are known (``flow/admit.py``): ``EarlyPermission``
gives the platform's answer, or its error, where ``authorize`` asks for it, with one request; and
``permission_needed`` asks exactly when ``authorize`` would."""

from __future__ import annotations

import threading

import pytest

from runner.errors import PlatformError
from runner.events import Actor, Event
from runner.flow.admit import EarlyPermission, authorize, permission_needed
from runner.settings.flow import flow_settings


class Host:
    """A platform answering from a table, counting the requests; ``gate`` holds the answer back."""

    def __init__(self, levels: dict[str, str], gate: threading.Event | None = None) -> None:
        self.levels, self.gate, self.asked = levels, gate, []

    def permission(self, login: str) -> str:
        self.asked.append(login)
        if self.gate is not None:
            self.gate.wait(30)
        if login not in self.levels:
            raise PlatformError(f"GET permission of {login}: 502 Bad Gateway")
        return self.levels[login]


def _event(actor: Actor | None) -> Event:
    return Event(
        platform="github",
        name="issue_comment",
        action="created",
        kind="comment",
        activity="created",
        actor=actor,
    )


ACTORS = [None, Actor("dev"), Actor("reader"), Actor("renovate[bot]", type="Bot"), Actor("guest")]
SETTINGS = [
    flow_settings({}),
    flow_settings({"INPUT_ALLOWED_NON_WRITE_USERS": "guest"}),
    flow_settings({"INPUT_ALLOWED_NON_WRITE_USERS": "*"}),
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("actor", ACTORS)
def test_the_permission_is_asked_early_exactly_when_authorize_asks(actor, settings):
    host = Host({"dev": "write", "reader": "read", "guest": "read"})
    plain = authorize(host, _event(actor), settings)
    login = permission_needed(_event(actor), settings)
    assert host.asked == ([] if login is None else [login])
    if login is not None:
        early_host = Host(dict(host.levels))
        early = EarlyPermission(early_host, login)
        assert authorize(early, _event(actor), settings) == plain
        assert early_host.asked == [login]  # one request, made ahead


def test_the_answer_waits_for_the_request_and_an_error_is_raised_where_it_is_asked():
    gate = threading.Event()
    host = Host({"dev": "admin"}, gate)
    early = EarlyPermission(host, "dev")
    answer: list[str] = []
    asker = threading.Thread(target=lambda: answer.append(early.permission("dev")))
    asker.start()
    asker.join(0.2)
    assert answer == [] and asker.is_alive()  # not answered before the platform answers
    gate.set()
    asker.join(30)
    assert answer == ["admin"] and host.asked == ["dev"]

    failing = EarlyPermission(Host({}), "mallory")
    with pytest.raises(PlatformError, match="502 Bad Gateway"):
        failing.permission("mallory")
    assert authorize(EarlyPermission(Host({"dev": "write"}), "dev"), _event(Actor("dev")), SETTINGS[0])[0]


def test_another_login_is_asked_when_asked():
    host = Host({"dev": "write", "lead": "maintain"})
    early = EarlyPermission(host, "dev")
    early.wait()
    assert early.permission("lead") == "maintain"
    assert host.asked == ["dev", "lead"]
