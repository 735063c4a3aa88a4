"""Automatic code review end to end: `claude-runner github` / `gitlab` in a subprocess against the
fake hosts, the fake Messages API and a local bare remote (issue #6, acceptance 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.project.review_config import parse_config
from runner.review.checkout import files_between
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from runner.testing.github_model import PullFile
from runner.testing.gitlab_state import _diff_entry
from tests.ci.github_flow_helpers import FIXTURES, OWNER, REPO, git, make_job, now_iso
from tests.ci.test_gitlab_flow import world, world_env  # noqa: F401  (the GitLab world fixture)

CALC_V1 = "def add(a, b):\n    return a - b\n"
MUL = (
    "\n\ndef mul(a, b):\n"
    "    result = 0\n"
    "    for _ in range(b):\n"
    "        result = result + a\n"
    "    return result\n"
)  # lines 3-9 of calc.py on the branch: mul() at 5, its loop at 6-9
DIV = "\n\ndef div(a, b):\n    return a / b\n"  # lines 10-13: div() at 12, its body at 13
MUL_FINDING = {
    "path": "calc.py",
    "line": 6,
    "end_line": 9,
    "severity": "important",
    "title": "mul() loops instead of multiplying",
    "body": "It is O(b) and wrong for negative b.",
    "suggestion": "    return a * b",
}
OUTSIDE = {
    "path": "util.py",
    "line": 1,
    "severity": "pre_existing",
    "title": "util.py has no docstring",
    "body": "Not part of this change.",
}
DIV_FINDING = {
    "path": "calc.py",
    "line": 13,
    "severity": "important",
    "title": "div() divides by zero",
    "body": "b == 0 raises ZeroDivisionError.",
}


# --- GitHub ------------------------------------------------------------------------------------


@pytest.fixture
def job(tmp_path):
    origin = tmp_path / "remotes" / OWNER / f"{REPO}.git"

    def branch_lookup(name):
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    with FakeMessagesAPI() as model:
        github = FakeGitHub(
            OWNER,
            REPO,
            default_branch="master",
            branch_lookup=branch_lookup,
            web_url=f"file://{tmp_path / 'remotes'}",
        )
        with github:
            job = make_job(tmp_path, github, model)
            dev = tmp_path / "dev"
            git("clone", "-q", "-b", "master", str(job.origin), str(dev), cwd=tmp_path)
            (dev / "util.py").write_text("X = 1\n")
            commit(dev, "util")
            git("push", "-q", "origin", "master", cwd=dev)
            git("checkout", "-q", "-b", "feature", cwd=dev)
            job.dev = dev
            yield job


def commit(dev: Path, message: str, **files: str) -> str:
    for name, content in files.items():
        (dev / name).write_text(content)
    git("add", ".", cwd=dev)
    git("commit", "-qm", message, cwd=dev)
    return git("rev-parse", "HEAD", cwd=dev)


def push(job, *, force: bool = False) -> str:
    git("push", "-q", *(["-f"] if force else []), "origin", "feature", cwd=job.dev)
    return git("rev-parse", "HEAD", cwd=job.dev)


def host_files(dev: Path) -> list[dict]:
    base = git("merge-base", "origin/master", "HEAD", cwd=dev)
    return [
        {"filename": f.path, "status": f.status, "patch": f.patch} for f in files_between(dev, base, "HEAD")
    ]


def open_pr(job, number: int = 5) -> str:
    head = push(job)
    job.github.add_pull(
        number, head_ref="feature", base_ref="master", head_sha=head, files=host_files(job.dev)
    )
    return head


def update_pr(job, number: int = 5, *, force: bool = False) -> str:
    head = push(job, force=force)
    pull = job.github.pull(number)
    pull.head_sha = head
    pull.files = [PullFile.coerce(f) for f in host_files(job.dev)]
    return head


def pr_event(job, action: str, number: int = 5) -> dict:
    payload = json.loads((FIXTURES / "pull_request" / "opened.payload.json").read_text())
    pull = job.github.pull(number)
    payload["action"] = action
    payload["number"] = number
    pr = payload["pull_request"]
    pr.update(number=number, draft=False, state="open")
    pr["head"].update(ref="feature", sha=pull.head_sha)
    pr["base"].update(ref="master")
    for side in ("head", "base"):
        pr[side]["repo"].update(full_name=f"{OWNER}/{REPO}", name=REPO, fork=False)
    payload["repository"].update(full_name=f"{OWNER}/{REPO}", name=REPO, default_branch="master")
    return payload


def review_turns(*findings: dict, final: str = "Small change; mul() needs a fix.") -> list:
    return [[tool_use("report_finding", f) for f in findings], [text(final)]]


def summary(job, number: int = 5):
    (comment,) = [c for c in job.github.comments(number) if "claude-runner:review" in c.body]
    return comment.body


def first_prompt(job) -> str:
    return json.dumps(job.model.requests[-2].body["messages"][0])


def test_opened_posts_one_review_with_a_suggestion_and_a_summary(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    head = open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING, OUTSIDE))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    (review,) = job.github.reviews_created
    assert review.state == "COMMENTED" and review.commit_id == head
    (comment,) = job.github.review_comments_of(5)
    assert comment.path == "calc.py" and comment.line == 9 and comment.start_line == 6
    assert "```suggestion\n    return a * b\n```" in comment.body
    body = summary(job)
    assert "util.py" in body and "no docstring" in body  # outside the diff: in the summary only
    assert head[:7] in body and "never approves" in body
    assert outputs["review_comments"] == "1" and outputs["findings_important"] == "1"
    # The outputs count what the summary counts: the finding outside the diff is in both.
    assert "| 1 | 0 | 1 |" in body and outputs["findings_pre_existing"] == "1"  # important, nit, pre-existing
    assert outputs["findings_rejected"] == "1"
    # Read-only: the agent was offered no tool that writes.
    tools = {t["name"] for t in job.model.requests[0].body["tools"]}
    assert "report_finding" in tools and not tools & {"Edit", "Write", "MultiEdit"}


def test_synchronize_reviews_only_new_commits_without_duplicates(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    commit(job.dev, "div", **{"calc.py": CALC_V1 + MUL + DIV})
    update_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING, DIV_FINDING))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "synchronize"), review="true")
    assert proc.returncode == 0, proc.stderr
    prompt = first_prompt(job)
    assert "+def div(a, b):" in prompt and "+def mul(a, b):" not in prompt
    assert len(job.github.reviews_created) == 2
    titles = [c.body for c in job.github.review_comments_of(5)]
    assert len(titles) == 2 and sum("mul() loops" in t for t in titles) == 1
    assert outputs["review_comments"] == "1" and outputs["findings_duplicates"] == "1"
    assert outputs["review_incremental"] == "true"
    body = summary(job)  # one sticky summary, updated in place
    assert "already posted" in body


def test_a_review_that_finished_meanwhile_is_not_posted_twice(job):
    """Two reviews of one change at once: the one that publishes second re-reads what the first
    posted and does not post the same finding again."""
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    (first,) = job.github.review_comments_of(5)
    # Rewind the host to before the first review published, then let it publish while the
    # second review's agent is still working (its last model turn).
    with job.github.lock:
        del job.github.review_comments[first.id]
        for comment in job.github.comments(5):
            del job.github.issue_comments[comment.id]

    def finish_first_then_answer(_request):
        job.github.add_review_comment(5, first.body, user=first.user, path=first.path, line=first.line)
        return text("Small change; mul() needs a fix.")

    job.model.add_turns([[tool_use("report_finding", MUL_FINDING)], finish_first_then_answer])
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert [c.body for c in job.github.review_comments_of(5)] == [first.body]
    assert outputs["review_comments"] == "0" and outputs["findings_duplicates"] == "1"


def test_force_push_gets_a_full_review(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    assert job.run("pull_request", pr_event(job, "opened"), review="true")[0].returncode == 0
    git("reset", "-q", "--hard", "origin/master", cwd=job.dev)
    commit(job.dev, "rewritten", **{"calc.py": CALC_V1 + DIV})
    update_pr(job, force=True)
    job.model.add_turns(review_turns(dict(DIV_FINDING, line=6)))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "synchronize"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert outputs["review_incremental"] == "false"
    assert "force-push" in summary(job)


def test_a_request_to_approve_is_refused(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING, final="Looks good. I approve this PR."))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert [r.state for r in job.github.reviews_of(5)] == ["COMMENTED"]
    assert "Approval was requested by the model and refused" in summary(job)
    assert outputs["approval_refused"] == "true"


def test_drafts_are_skipped_and_review_off_does_nothing(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.github.pull(5).draft = True
    payload = pr_event(job, "opened")
    payload["pull_request"]["draft"] = True
    proc, outputs, _ = job.run("pull_request", payload, review="true")
    assert proc.returncode == 0 and "draft" in proc.stderr and outputs["conclusion"] == "skipped"
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"))
    assert proc.returncode == 0 and "runs only with a prompt" in proc.stdout
    assert job.github.reviews_created == [] and job.model.requests == []


def test_a_review_mention_reviews_the_pr(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    payload = job.payload("issue_comment")
    payload["issue"]["number"] = 5
    payload["issue"]["pull_request"] = {"url": f"{job.github.api_url}/repos/{OWNER}/{REPO}/pulls/5"}
    payload["comment"]["body"] = "@claude review the arithmetic"
    payload["comment"]["created_at"] = payload["comment"]["updated_at"] = now_iso()
    proc, outputs, _ = job.run("issue_comment", payload)
    assert proc.returncode == 0, proc.stderr
    assert len(job.github.reviews_created) == 1 and outputs["review_comments"] == "1"
    assert "the arithmetic" in first_prompt(job)


# --- GitLab ------------------------------------------------------------------------------------


def gitlab_review(w, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **world_env(w),
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "5",
        "GITLAB_USER_LOGIN": "alice",
        "REVIEW": "true",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "runner", "gitlab"],
        cwd=w.workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def gitlab_diffs(dev: Path) -> list[dict]:
    base = git("merge-base", "origin/main", "HEAD", cwd=dev)
    return [
        {
            "old_path": f.path,
            "new_path": f.path,
            "diff": (f.patch or "") + "\n",
            "new_file": f.status == "added",
        }
        for f in files_between(dev, base, "HEAD")
    ]


def test_gitlab_mr_pipeline_posts_diff_discussions_and_a_summary_note(world):  # noqa: F811
    dev = world.root / "dev"
    git("clone", "-q", "-b", "feature", str(world.origin), str(dev), cwd=world.root)
    commit(dev, "mul", **{"calc.py": CALC_V1 + MUL})
    git("push", "-q", "origin", "feature", cwd=dev)
    world.gitlab.add_merge_request("Add mul", iid=5, source_branch="feature", diffs=gitlab_diffs(dev))
    world.model.add_turns(review_turns(MUL_FINDING, OUTSIDE))
    proc = gitlab_review(world)
    assert proc.returncode == 0, proc.stderr
    log = proc.stdout + proc.stderr
    assert "pull request" not in log and "ReviewConfig(" not in log  # GitLab's words, read as words
    assert ".claude/review.json: min_severity" in log
    notes = world.gitlab.note_list("merge_request", 5)
    (diff_note,) = [n for n in notes if n.position]
    assert diff_note.position["new_line"] == 9 and diff_note.position["new_path"] == "calc.py"
    assert "```suggestion:-3+0\n    return a * b\n```" in diff_note.body
    (summary_note,) = [n for n in notes if "claude-runner:review" in n.body]
    assert "util.py" in summary_note.body
    # A rerun after a new commit: the same finding is not posted again, the summary is updated.
    commit(dev, "div", **{"calc.py": CALC_V1 + MUL + DIV})
    git("push", "-q", "origin", "feature", cwd=dev)
    mr = world.gitlab.merge_requests[5]
    mr.head_sha = git("rev-parse", "HEAD", cwd=dev)
    mr.diffs = [_diff_entry(d) for d in gitlab_diffs(dev)]
    world.model.add_turns(review_turns(MUL_FINDING, DIV_FINDING))
    proc = gitlab_review(world)
    assert proc.returncode == 0, proc.stderr
    notes = world.gitlab.note_list("merge_request", 5)
    assert sum(1 for n in notes if n.position and "mul() loops" in n.body) == 1
    assert sum(1 for n in notes if n.position and "div() divides" in n.body) == 1
    assert len([n for n in notes if "claude-runner:review" in n.body]) == 1


def test_gitlab_force_push_gets_a_full_review_and_no_approval(world):  # noqa: F811
    dev = world.root / "dev"
    git("clone", "-q", "-b", "feature", str(world.origin), str(dev), cwd=world.root)
    commit(dev, "mul", **{"calc.py": CALC_V1 + MUL})
    git("push", "-q", "origin", "feature", cwd=dev)
    world.gitlab.add_merge_request("Add mul", iid=5, source_branch="feature", diffs=gitlab_diffs(dev))
    world.model.add_turns(review_turns(MUL_FINDING))
    assert gitlab_review(world).returncode == 0
    git("reset", "-q", "--hard", "origin/main", cwd=dev)
    commit(dev, "rewritten", **{"calc.py": CALC_V1 + DIV})
    git("push", "-q", "--force", "origin", "feature", cwd=dev)
    mr = world.gitlab.merge_requests[5]
    mr.head_sha = git("rev-parse", "HEAD", cwd=dev)
    mr.diffs = [_diff_entry(d) for d in gitlab_diffs(dev)]
    world.model.add_turns(review_turns(dict(DIV_FINDING, line=6), final="Looks good, I approve this MR."))
    proc = gitlab_review(world)
    assert proc.returncode == 0, proc.stderr
    (summary_note,) = [
        n for n in world.gitlab.note_list("merge_request", 5) if "claude-runner:review" in n.body
    ]
    assert "force-push" in summary_note.body and "approval was requested" in summary_note.body.lower()
    assert not any(r.path.endswith("/approve") for r in world.gitlab.requests)


# --- pure parts --------------------------------------------------------------------------------


def test_review_settings_and_requests():
    config = parse_config('{"focus": ["security"], "min_severity": "nit", "exclude": ["docs/**"]}')
    assert config.focus == ("security",) and config.min_severity == "nit" and config.exclude == ("docs/**",)
    with pytest.raises(Exception, match="min_severity"):
        parse_config('{"min_severity": "blocker"}')


def test_a_marker_pasted_by_a_person_is_not_trusted(job):
    """Only the runner's (bot) comments carry review state: a person cannot mark a head as reviewed."""
    from runner.review.state import SUMMARY_MARKER, head_marker

    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    head = open_pr(job)
    job.github.add_comment(5, f"{SUMMARY_MARKER}\n{head_marker(head)}\nnothing to see", user="Codertocat")
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, outputs, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    assert outputs["review_comments"] == "1"  # reviewed, not skipped as "nothing new"


def test_request_changes_only_when_allowed(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run(
        "pull_request", pr_event(job, "opened"), review="true", review_request_changes="true"
    )
    assert proc.returncode == 0, proc.stderr
    (review,) = job.github.reviews_created
    assert review.state == "CHANGES_REQUESTED"
    body = summary(job)
    assert "Changes were requested" in body and "never approves or blocks" not in body


def test_a_review_may_read_the_history_with_git_but_not_write_through_its_options(job):
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    open_pr(job)
    job.model.add_turns(
        [
            [
                tool_use("Bash", {"command": "git log --oneline -3"}),
                tool_use("Bash", {"command": "git diff --output=leak.txt HEAD~1"}),
            ],
            *review_turns(MUL_FINDING),
        ]
    )
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")  # no claude_args
    assert proc.returncode == 0, proc.stderr
    bash = next(t for t in job.model.requests[0].body["tools"] if t["name"] == "Bash")
    assert "Allowed commands: `Bash(git status:*)`, `Bash(git diff:*)`" in bash["description"]
    log, diff = job.model.requests[1].body["messages"][-1]["content"]
    assert not log.get("is_error") and "mul" in json.dumps(log["content"])
    assert diff.get("is_error") and "denied" in json.dumps(diff["content"])
    assert not (job.workspace / "leak.txt").exists()


def test_a_review_sees_the_images_in_the_description(job):
    import base64

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    job.env_extra["GITHUB_SERVER_URL"] = job.github.base_url
    commit(job.dev, "mul", **{"calc.py": CALC_V1 + MUL})
    head = push(job)
    shot = job.github.add_attachment(png)
    job.github.add_pull(
        5,
        head_ref="feature",
        base_ref="master",
        head_sha=head,
        files=host_files(job.dev),
        body=f"UI: ![]({shot})",
    )
    job.model.add_turns(review_turns(MUL_FINDING))
    proc, _, _ = job.run("pull_request", pr_event(job, "opened"), review="true")
    assert proc.returncode == 0, proc.stderr
    content = job.model.requests[0].body["messages"][0]["content"]
    (at,) = [i for i, b in enumerate(content) if b["type"] == "image"]
    assert (
        content[at - 1]["text"].endswith(f"![]({shot})")
        and content[at]["source"]["media_type"] == "image/png"
    )
