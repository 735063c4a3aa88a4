"""`claude-runner gitlab` end to end: a subprocess with GitLab CI variables set, against the fake
GitLab, the fake Messages API and a local bare remote."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fake_gitlab import FakeGitLab
from runner.testing.fake_messages import FakeMessagesAPI, text, tool_use
from tests.ci.github_flow_helpers import git, now_iso
from tests.paths import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "gitlab" / "webhooks"
PATH = "gitlab-org/gitlab-test"
PROJECT_ID = 5
TOKEN = "glpat-fake-token"


class World:
    def __init__(self, root: Path, gitlab: FakeGitLab, model: FakeMessagesAPI) -> None:
        self.root, self.gitlab, self.model = root, gitlab, model
        self.origin = root / "remotes" / f"{PATH}.git"
        self.workspace = root / "workspace"

    def remote_branches(self) -> dict[str, str]:
        out = git("ls-remote", "--heads", str(self.origin), cwd=self.root)
        return {
            line.split("\t")[1].removeprefix("refs/heads/"): line.split("\t")[0] for line in out.splitlines()
        }

    def remote_log(self, branch: str, fmt: str = "%s") -> list[str]:
        return git(
            "--git-dir", str(self.origin), "log", f"--format={fmt}", branch, cwd=self.root
        ).splitlines()

    def run(self, payload: dict, **variables: str) -> subprocess.CompletedProcess[str]:
        event = self.root / "hook.json"
        event.write_text(json.dumps(payload))
        try:
            return subprocess.run(
                [sys.executable, "-m", "runner", "gitlab", "--event-path", str(event)],
                cwd=self.workspace,
                env={**world_env(self), **variables},
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            event.unlink()

    def note_payload(self, noteable: str, iid: int, body: str, *, user: str = "alice", **attrs) -> dict:
        name = "note_merge_request.json" if noteable == "MergeRequest" else "note_issue.json"
        payload = copy.deepcopy(json.loads((FIXTURES / name).read_text()))
        payload["project"].update(id=PROJECT_ID, path_with_namespace=PATH, default_branch="main")
        payload["user"].update(username=user, name=user)
        payload["object_attributes"].update(
            note=body, created_at=now_iso(), updated_at=now_iso(), action="create", system=False, **attrs
        )
        if noteable == "MergeRequest":
            mr = self.gitlab.merge_requests[iid]
            payload["merge_request"].update(
                iid=iid,
                source_branch=mr.source_branch,
                target_branch="main",
                source_project_id=PROJECT_ID,
                target_project_id=PROJECT_ID,
                state="opened",
                title=mr.title,
                description=mr.description,
            )
        else:
            payload["issue"].update(
                iid=iid,
                title=self.gitlab.issues[iid].title,
                description=self.gitlab.issues[iid].description,
                confidential=False,
            )
        return payload


def world_env(world: World) -> dict[str, str]:
    """The variables GitLab CI sets for the job, pointed at the fakes."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CI_", "GITLAB_", "GITHUB_"))
    }
    env.update(
        CI_PROJECT_ID=str(PROJECT_ID),
        CI_PROJECT_PATH=PATH,
        CI_SERVER_URL=world.gitlab.base_url,
        CI_API_V4_URL=f"{world.gitlab.base_url}/api/v4",
        CI_PROJECT_DIR=str(world.workspace),
        CI_JOB_URL=f"{world.gitlab.web_url}/{PATH}/-/jobs/99",
        CI_JOB_ID="99",
        CI_DEFAULT_BRANCH="main",
        GITLAB_CI="true",
        GITLAB_ACCESS_TOKEN=TOKEN,
        CI_JOB_TOKEN="job-token-abc",
        ANTHROPIC_BASE_URL=world.model.base_url,
        ANTHROPIC_API_KEY="sk-ant-test-0123456789",
        CLAUDE_CONFIG_DIR=str(world.workspace.parent / "claude-config"),  # never the machine's settings
        CLAUDE_RUNNER_RETRY_BASE_MS="10",
        CLAUDE_RUNNER_API_RETRY_BASE_MS="10",
    )
    return env


@pytest.fixture
def world(tmp_path):
    origin = tmp_path / "remotes" / f"{PATH}.git"

    def branch_lookup(name):
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    seed = tmp_path / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "init", cwd=seed)
    git("checkout", "-q", "-b", "feature", cwd=seed)
    (seed / "README.md").write_text("calc\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "readme", cwd=seed)
    origin.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp_path)
    git("clone", "-q", "-b", "main", str(origin), str(tmp_path / "workspace"), cwd=tmp_path)
    with (
        FakeMessagesAPI() as model,
        FakeGitLab(
            PATH,
            project_id=PROJECT_ID,
            default_branch="main",
            web_url=f"file://{tmp_path / 'remotes'}",
            branch_lookup=branch_lookup,
        ) as gitlab,
    ):
        gitlab.add_user("alice", "developer")
        yield World(tmp_path, gitlab, model)


def fix(world):
    calc = str(world.workspace / "calc.py")
    return [
        [tool_use("Read", {"file_path": calc})],
        [tool_use("Edit", {"file_path": calc, "old_string": "a - b", "new_string": "a + b"})],
        [text("Fixed `add()`.")],
    ]


def test_mr_mention_commits_on_the_source_branch_and_finalises_a_note(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns(fix(world))
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert world.remote_log("feature", "%an|%s")[0].startswith("claude[bot]|MR #5")
    notes = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert len(notes) == 1 and "Claude finished @alice's task" in notes[0].body
    assert "Fixed `add()`." in notes[0].body and "/-/jobs/99" in notes[0].body
    dotenv = dict(
        line.split("=", 1) for line in (world.workspace / "claude-runner.env").read_text().splitlines()
    )
    assert dotenv["CLAUDE_CONCLUSION"] == "success"
    # claude-code-action's execution file (a JSON array), kept next to the checkout for the artifacts.
    assert dotenv["CLAUDE_EXECUTION_FILE"] == str(world.workspace / "claude-execution-output.json")
    assert json.loads(Path(dotenv["CLAUDE_EXECUTION_FILE"]).read_text())[-1]["type"] == "result"
    assert dotenv["CLAUDE_TRANSCRIPT_FILE"] == str(world.workspace / "claude-execution.jsonl")


def test_issue_mention_opens_a_branch_and_a_draft_mr(world):
    world.gitlab.add_issue("add() is wrong", iid=7, description="It subtracts.", author="alice")
    world.model.add_turns(fix(world))
    proc = world.run(world.note_payload("Issue", 7, "@claude please fix this"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    branch = next(b for b in world.remote_branches() if b.startswith("claude/issue-7-"))
    (mr,) = [m for m in world.gitlab.merge_requests.values() if m.source_branch == branch]
    assert mr.draft and mr.target_branch == "main" and "Closes #7" in mr.description
    (note,) = [n for n in world.gitlab.note_list("issue", 7) if not n.system]
    assert "finished" in note.body and "/-/merge_requests/" in note.body


def test_a_mention_in_a_thread_is_answered_in_that_thread(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    asked = world.gitlab.add_note("merge_request", 5, "@claude what does this do?", author="alice")
    world.model.add_turns([[text("It adds two numbers.")]])
    payload = world.note_payload(
        "MergeRequest", 5, asked.body, id=asked.id, discussion_id=asked.discussion_id, type="DiscussionNote"
    )
    proc = world.run(payload)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (thread,) = [d for d in world.gitlab.discussion_list("merge_request", 5) if d.id == asked.discussion_id]
    notes = {n.id: n for n in world.gitlab.note_list("merge_request", 5)}
    assert len(thread.note_ids) == 2 and "It adds two numbers." in notes[thread.note_ids[1]].body


def test_a_non_member_gets_a_note_and_nothing_else(world):
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude fix it", user="mallory"))
    assert proc.returncode == 0
    assert "refused" in proc.stderr
    (note,) = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert note.body.startswith("@mallory, only members with the Developer role or higher")
    assert world.model.requests == []


# calc.py on main: `mul` is wrong; the fork fixes it (line 10) and nothing else.
CALC_MAIN = (
    "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b + 0\n\n\n"
    "def mul(a, b):\n    return a + b\n"
)
CALC_FORK = CALC_MAIN.replace("return a + b", "return a * b")
FORK_DIFF = "@@ -7,4 +7,4 @@ def sub(a, b):\n \n \n def mul(a, b):\n-    return a + b\n+    return a * b\n"


def fork_merge_request(world: World) -> str:
    """MR !5 from the fork contributor/gitlab-test: its head exists in origin only as
    refs/merge-requests/5/head (as GitLab keeps it); returns that commit's sha."""
    work = world.root / "fork"
    git("clone", "-q", "-b", "main", str(world.origin), str(work), cwd=world.root)
    (work / "calc.py").write_text(CALC_MAIN)
    git("commit", "-qam", "more functions", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)  # the base the fork started from
    (work / "calc.py").write_text(CALC_FORK)
    git("commit", "-qam", "fix mul", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work)
    git("push", "-q", "origin", f"{head}:refs/merge-requests/5/head", cwd=work)
    git("fetch", "-q", "origin", cwd=world.workspace)
    git("reset", "-q", "--hard", "origin/main", cwd=world.workspace)  # the CI checkout of main
    mr = world.gitlab.add_merge_request(
        "Fix mul",
        iid=5,
        source_branch="fix-mul",
        author="alice",
        fork_path="contributor/gitlab-test",
        diffs=[{"old_path": "calc.py", "new_path": "calc.py", "diff": FORK_DIFF}],
    )
    mr.head_sha = head  # the fake makes one up for forks; GitLab reports the real head
    return head


def test_fork_mr_gets_suggestions_on_the_diff_and_no_push(world):
    head = fork_merge_request(world)
    branches_before = world.remote_branches()
    calc = str(world.workspace / "calc.py")
    world.model.add_turns(
        [
            [tool_use("Read", {"file_path": calc})],
            # Line 9 is in the MR's diff (context); line 2 is not.
            [
                tool_use(
                    "Edit",
                    {
                        "file_path": calc,
                        "old_string": "def mul(a, b):",
                        "new_string": "def mul(a: int, b: int) -> int:",
                    },
                )
            ],
            [
                tool_use(
                    "Edit",
                    {
                        "file_path": calc,
                        "old_string": "    return a - b\n\n\ndef sub",
                        "new_string": "    return a + b\n\n\ndef sub",
                    },
                )
            ],
            [text("Typed `mul()` and fixed `add()`.")],
        ]
    )
    payload = world.note_payload("MergeRequest", 5, "@claude tidy this up")
    payload["merge_request"]["source_project_id"] = world.gitlab.merge_requests[5].source_project_id
    proc = world.run(payload)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # The agent worked on the fork's code (the fix to mul was there to be read).
    first_request = json.dumps(world.model.requests[1].body)
    assert "return a * b" in first_request
    # Nothing pushed: every branch and the MR ref are where they were.
    assert world.remote_branches() == branches_before
    assert (
        git("--git-dir", str(world.origin), "rev-parse", "refs/merge-requests/5/head", cwd=world.root) == head
    )
    # One diff discussion with an applicable suggestion on line 9, at the MR's diff refs.
    mr = world.gitlab.merge_requests[5]
    (diff_note,) = [n for n in world.gitlab.note_list("merge_request", 5) if n.type == "DiffNote"]
    position = diff_note.position
    assert (position["new_path"], position["new_line"], position["old_line"]) == ("calc.py", 9, 9)
    assert (position["base_sha"], position["start_sha"], position["head_sha"]) == (
        mr.base_sha,
        mr.start_sha,
        head,
    )
    assert "```suggestion:-0+0\ndef mul(a: int, b: int) -> int:\n```" in diff_note.body
    # The final note counts the suggestion and carries the edit outside the diff as a diff block.
    (final,) = [
        n for n in world.gitlab.note_list("merge_request", 5) if not n.system and n.type != "DiffNote"
    ]
    assert "Claude finished @alice's task" in final.body and "Typed `mul()`" in final.body
    assert "1 suggestion was posted [on the diff](" in final.body and f"#note_{diff_note.id}" in final.body
    assert "```diff\ndiff --git a/calc.py b/calc.py" in final.body
    assert "-    return a - b\n+    return a + b" in final.body
    assert "def mul(a: int" not in final.body.split("```diff", 1)[1]


def test_a_pipeline_started_by_the_listener_runs_the_mention(world):
    """The listener's AI_FLOW_* variables (as GitLab hands them to the job: $$ back to $) drive the job."""
    from runner.webhook.decision import pipeline_variables

    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns(fix(world))
    payload = world.note_payload("MergeRequest", 5, "@claude fix the bug in calc.py")
    variables = pipeline_variables(payload, "fix the bug in calc.py", "mention")
    env = {k: v.replace("$$", "$") for k, v in variables.items()}
    event = world.root / "hook.json"
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "gitlab"],
        cwd=world.workspace,
        env={**world_env(world), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert not event.exists()  # no hook file: the variables alone describe the mention
    assert world.remote_log("feature", "%an")[0] == "claude[bot]"
    (note,) = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert "Claude finished @alice's task" in note.body
