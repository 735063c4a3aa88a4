"""`classify_inline_comments`: the inline comments an agent left unconfirmed are judged by a small
model through the configured provider (the fake Messages API) before the platform tools post the
ones it keeps on the fake GitHub; a classification that fails posts none of them and lists them.
End to end: a mention run whose agent leaves a real comment and a probe."""

from __future__ import annotations

import json

import pytest

from runner.flow.inline_buffer import ClassificationFailed, model_classifier, parse_verdicts, sort_buffered
from runner.providers import build_client
from runner.settings.provider import read_provider_config
from runner.testing.fake_messages import text, tool_use
from tests.ci.github_flow_helpers import actions_job
from tests.ci.test_github_flow import pr_comment_payload
from tests.conftest import base_env
from tests.platform_tools.test_github_tools import call, github, toolset  # noqa: F401  (the fixture)

TOOL = "mcp__github_inline_comment__create_inline_comment"
REAL = {"path": "calc.py", "line": 2, "body": "`a + b` still overflows for huge ints? Document it."}
PROBE = {"path": "calc.py", "line": 3, "body": "test comment, please ignore"}


def buffered(github, tmp_path):  # noqa: F811
    out, _ = toolset(github, tmp_path, allow=["mcp__github_inline_comment"])
    for args in (REAL, PROBE):
        assert json.loads(call(out, TOOL, args, tmp_path).content)["buffered"]
    assert github.review_comments_of(2) == []
    return out


def classifier(fake):
    return model_classifier(lambda: build_client(read_provider_config(base_env(fake))), "claude-haiku-4-5")


def test_only_comments_the_classifier_keeps_are_posted(github, fake, tmp_path):  # noqa: F811
    out = buffered(github, tmp_path)
    fake.add_turn([text("[true, false]")])
    log: list[str] = []
    outcome = sort_buffered(out.inline.buffer.pending, classifier=classifier(fake), log=log.append)
    out.inline.buffer.pending = list(outcome.kept)
    assert out.finish(ok=True) == []
    assert [c.body for c in github.review_comments_of(2)] == [REAL["body"]]
    assert [c.body for c in outcome.dropped] == [PROBE["body"]] and outcome.note() == ""
    (request,) = fake.message_requests
    assert request.body["model"] == "claude-haiku-4-5"
    prompt = request.body["messages"][0]["content"]
    assert REAL["body"] in prompt and PROBE["body"] in prompt and "JSON array of booleans" in prompt
    assert log == ["inline comments: 1 kept, 1 dropped as tests or probes by the classifier"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Sure! The first one is real.", "the classifier did not answer with JSON"),
        ("[true]", "the classifier judged 1 comments, not 2"),
    ],
)
def test_an_unreadable_classification_posts_nothing_and_lists_the_comments(
    github,  # noqa: F811
    fake,
    tmp_path,
    answer,
    reason,
):
    out = buffered(github, tmp_path)
    fake.add_turn([text(answer)])
    log: list[str] = []
    outcome = sort_buffered(out.inline.buffer.pending, classifier=classifier(fake), log=log.append)
    out.inline.buffer.pending = list(outcome.kept)
    assert out.finish(ok=True) == [] and github.review_comments_of(2) == []
    assert outcome.error == f"classifying them failed ({reason})"
    note = outcome.note()
    assert note.startswith(f"⚠️ 2 inline comment(s) were not posted: classifying them failed ({reason}).")
    assert "**`calc.py:2`**" in note and REAL["body"] in note and PROBE["body"] in note
    assert log == [f"warning: 2 inline comment(s) not posted: classifying them failed: {reason}"]


def test_a_refused_classification_request_is_reported_too(github, fake, tmp_path):  # noqa: F811
    out = buffered(github, tmp_path)
    fake.queue_fault("overloaded")
    outcome = sort_buffered(out.inline.buffer.pending, classifier=classifier(fake), log=lambda line: None)
    assert outcome.kept == () and len(outcome.held) == 2 and "classifying them failed" in outcome.error


def test_without_a_classifier_every_comment_is_kept(github, fake, tmp_path):  # noqa: F811
    out = buffered(github, tmp_path)
    outcome = sort_buffered(out.inline.buffer.pending, classifier=None, log=lambda line: None)
    assert len(outcome.kept) == 2 and fake.requests == []


def test_parse_verdicts_accepts_a_fenced_array_only():
    assert parse_verdicts("```json\n[true, false]\n```", 2) == [True, False]
    with pytest.raises(ClassificationFailed, match="not an array of booleans"):
        parse_verdicts('["yes", "no"]', 2)


README_PATCH = "@@ -0,0 +1 @@\n+calc"


@pytest.mark.parametrize("classify", ["true", "false"])
def test_a_mention_run_classifies_the_comments_its_agent_left(tmp_path, classify):
    with actions_job(tmp_path) as job:
        head = job.remote_branches()["fix-calc"]
        job.github.add_pull(
            5,
            head_ref="fix-calc",
            base_ref="master",
            head_sha=head,
            files=[{"filename": "README.md", "patch": README_PATCH}],
        )
        note = {"path": "README.md", "line": 1, "body": "The README says nothing about negative numbers."}
        probe = {"path": "README.md", "line": 1, "body": "testing the tool"}
        job.model.add_turns(
            [[tool_use(TOOL, note), tool_use(TOOL, probe)], [text("Left a note on the README.")]]
        )
        if classify == "true":
            job.model.add_turn([text("[true, false]")])  # the classifier's answer
        proc, _, _ = job.run(
            "issue_comment",
            pr_comment_payload(job, 5, body="@claude leave a note on the README where it falls short"),
            claude_args=f"--allowedTools {TOOL}",
            classify_inline_comments=classify,
        )
        assert proc.returncode == 0, proc.stderr
        bodies = [c.body for c in job.github.review_comments_of(5)]
        requests = job.model.message_requests
    if classify == "true":
        assert bodies == [note["body"]]
        assert "JSON array of booleans" in requests[-1].body["messages"][0]["content"]
    else:
        assert sorted(bodies) == sorted([note["body"], probe["body"]]) and len(requests) == 2
