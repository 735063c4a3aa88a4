"""The fake GitHub's fault hook: per-route status sequences, with an optional delay."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from runner.testing.fake_github import FakeGitHub


def patch_comment(fake: FakeGitHub, comment_id: int) -> int:
    request = urllib.request.Request(
        f"{fake.base_url}/repos/octo-org/hello-world/issues/comments/{comment_id}",
        data=json.dumps({"body": "edited"}).encode(),
        method="PATCH",
        headers={"Authorization": "token ghp_fake_token", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_statuses_answer_in_order_then_the_route_works_again():
    with FakeGitHub() as fake:
        fake.add_issue(1, title="t")
        comment = fake.add_comment(1, "original", user="alice")
        fake.fail_route("PATCH", "edit_comment", 502, 503)
        assert [patch_comment(fake, comment.id) for _ in range(3)] == [502, 503, 200]
        assert fake.comments(1)[0].body == "edited"
        assert [r.status for r in fake.requests_to("PATCH", "edit_comment")] == [502, 503, 200]


def test_repeat_keeps_failing_until_the_fault_is_removed():
    with FakeGitHub() as fake:
        fake.add_issue(1, title="t")
        comment = fake.add_comment(1, "original", user="alice")
        fake.fail_route("PATCH", "edit_comment", 502, repeat=True)
        assert [patch_comment(fake, comment.id) for _ in range(3)] == [502, 502, 502]
        assert fake.comments(1)[0].body == "original"  # nothing was applied
        fake.fail_route("PATCH", "edit_comment")
        assert patch_comment(fake, comment.id) == 200
