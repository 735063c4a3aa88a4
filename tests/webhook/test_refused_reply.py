"""The listener answers an author below MIN_ACCESS_LEVEL with one short note (REPLY_TO_REFUSED),
once per event, and starts no pipeline; through the real GitLab adapter and the fake GitLab."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from runner.settings.webhook import WebhookSettings
from runner.testing.fake_gitlab import FakeGitLab
from runner.webhook.workers import platform_actions
from tests.webhook.conftest import TOKEN
from tests.webhook.test_webhook import (  # noqa: F401 (listen is a fixture)
    SECRET,
    StubGitLab,
    listen,
    mr_note,
    post,
)

Listen = Callable[..., Any]


def _notes(fake: FakeGitLab) -> list[Any]:
    return [n for n in fake.note_list("merge_request", 1) if not n.system]


def test_a_guest_gets_one_note_per_event_and_no_pipeline(listen: Listen, fake_gitlab: FakeGitLab) -> None:  # noqa: F811
    fake_gitlab.add_merge_request("Fix flaky", iid=1, source_branch="fix-flaky", author="user1")
    server, logs = listen(platform_actions(fake_gitlab.base_url, TOKEN))
    payload = mr_note()
    payload["user"] = {"id": 78, "username": "guest1"}
    assert post(server, payload, uuid="g1")[0] == 202
    (record,) = logs.wait_for(1)
    assert record["decision"] == "denied" and fake_gitlab.pipelines == []
    (note,) = _notes(fake_gitlab)
    assert note.body.startswith(
        "@guest1, only members with the Developer role or higher can ask Claude here."
    )
    assert record["reply"].endswith(f"#note_{note.id}")
    # GitLab delivers the same note again (a retried hook under a new uuid): no second note.
    assert post(server, json.loads(json.dumps(payload)), uuid="g2")[0] == 202
    second = logs.wait_for(2)[1]
    assert second["decision"] == "denied" and second["reply"] == record["reply"]
    assert len(_notes(fake_gitlab)) == 1


def test_reply_to_refused_false_posts_nothing(listen: Listen) -> None:  # noqa: F811
    gitlab = StubGitLab({"user1": "triage"})
    server, logs = listen(gitlab, WebhookSettings(secret=SECRET, reply_to_refused=False))
    assert post(server, mr_note(), uuid="r1")[0] == 202
    (record,) = logs.wait_for(1)
    assert record["decision"] == "denied" and record["reply"] == "none: REPLY_TO_REFUSED is false"
    assert gitlab.replies == [] and gitlab.pipelines == []


def test_a_developer_gets_a_pipeline_and_no_note(listen: Listen) -> None:  # noqa: F811
    gitlab = StubGitLab({"user1": "write"})
    server, logs = listen(gitlab)
    assert post(server, mr_note(), uuid="d1")[0] == 202
    assert logs.wait_for(1)[0]["decision"] == "started"
    assert gitlab.replies == [] and len(gitlab.pipelines) == 1


def test_a_failed_reply_is_logged_and_the_worker_goes_on(listen: Listen) -> None:  # noqa: F811
    class Failing(StubGitLab):
        def reply(self, *args: Any) -> str:
            raise RuntimeError(f"GitLab said no to {TOKEN}")

    from runner.sanitize import Redactor

    gitlab = Failing({"user1": "none"})
    server, logs = listen(gitlab, redactor=Redactor([TOKEN]))
    assert post(server, mr_note(), uuid="f1")[0] == 202
    (record,) = logs.wait_for(1)
    assert record["decision"] == "denied" and record["reply"].startswith("failed: RuntimeError")
    assert TOKEN not in json.dumps(record) and gitlab.pipelines == []
