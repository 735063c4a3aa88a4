"""A runner with a personal access token posts as a person, who can paste the runner's hidden
markers into a comment of their own. The runner seals what it writes and trusts markers only in
sealed bodies: the person's comment never receives the runner's answer; the runner's own sticky
comment is still reused."""

from __future__ import annotations

import subprocess
import time

import pytest

from runner.platforms.seal import SEAL_PREFIX, Seal, seal_for
from runner.testing.fake_github import FakeGitHub
from runner.testing.fake_gitlab import FakeGitLab
from runner.testing.fake_messages import FakeMessagesAPI, text
from tests.ci.github_flow_helpers import OWNER, REPO, make_job
from tests.ci.test_github_flow import pr_comment_payload
from tests.ci.test_gitlab_flow import PATH, PROJECT_ID, World, git

PASTED = "My own notes.\n<!-- claude-runner:tracking -->\n"


@pytest.fixture
def pat_job(tmp_path):
    """A GitHub job whose token is a person's (`Codertocat`, who also comments)."""
    origin = tmp_path / "remotes" / OWNER / f"{REPO}.git"

    def branch_lookup(name):
        out = subprocess.run(
            ["git", "ls-remote", "--heads", str(origin), name], capture_output=True, text=True
        )
        return out.stdout.split("\t")[0] or None

    with FakeMessagesAPI() as model:
        github = FakeGitHub(
            OWNER, REPO, default_branch="master", branch_lookup=branch_lookup,
            web_url=f"file://{tmp_path / 'remotes'}", token_user="Codertocat", token_permission="admin",
        )  # fmt: skip
        with github:
            yield make_job(tmp_path, github, model)


def test_github_a_marker_pasted_by_the_tokens_person_is_not_the_runners(pat_job):
    job = pat_job
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head)
    pasted = job.github.add_comment(5, PASTED, user="Codertocat", created_at=time.time() - 60)
    for answer in ("First answer.", "Second answer."):
        job.model.add_turns([[text(answer)]])
        proc, _, _ = job.run(
            "issue_comment", pr_comment_payload(job, 5, body="@claude explain"), use_sticky_comment="true"
        )
        assert proc.returncode == 0, proc.stderr
    comments = job.github.comments(5)
    assert next(c for c in comments if c.id == pasted.id).body == PASTED  # untouched
    (runners,) = [c for c in comments if c.id != pasted.id]  # one sticky comment, reused
    assert "Second answer." in runners.body and "First answer." not in runners.body
    assert SEAL_PREFIX in runners.body


def test_gitlab_a_marker_pasted_by_the_tokens_person_is_not_the_runners(tmp_path):
    origin = tmp_path / "remotes" / f"{PATH}.git"
    seed = tmp_path / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "calc.py").write_text("x = 1\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "init", cwd=seed)
    git("branch", "feature", cwd=seed)
    origin.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp_path)
    git("clone", "-q", "-b", "main", str(origin), str(tmp_path / "workspace"), cwd=tmp_path)
    with (
        FakeMessagesAPI() as model,
        FakeGitLab(
            PATH, project_id=PROJECT_ID, default_branch="main", web_url=f"file://{tmp_path / 'remotes'}",
            tokens={"glpat-fake-token": "alice"}, token_access="maintainer",
        ) as gitlab,
    ):  # fmt: skip
        world = World(tmp_path, gitlab, model)
        gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
        pasted = gitlab.add_note("merge_request", 5, PASTED, author="alice", created_at=time.time() - 60)
        for answer in ("First answer.", "Second answer."):
            model.add_turns([[text(answer)]])
            proc = world.run(
                world.note_payload("MergeRequest", 5, "@claude explain"), USE_STICKY_COMMENT="true"
            )
            assert proc.returncode == 0, proc.stderr + proc.stdout
        notes = [n for n in gitlab.note_list("merge_request", 5) if not n.system]
        assert next(n for n in notes if n.id == pasted.id).body == PASTED
        (runners,) = [n for n in notes if n.id != pasted.id]
        assert "Second answer." in runners.body and "First answer." not in runners.body


def test_a_seal_holds_for_its_body_and_key_only():
    seal = seal_for("glpat-secret", person=True)
    sealed = seal.sign("Answer.\n<!-- claude-runner:tracking -->")
    assert seal.trusts(sealed) and seal.trusts(sealed.replace("\n", "\r\n") + "  \n")
    assert seal.sign(sealed) == sealed  # sealing again replaces, not stacks
    assert not seal.trusts("Answer.\n<!-- claude-runner:tracking -->")  # unsealed
    assert not seal.trusts(sealed.replace("Answer.", "Other."))  # a sealed marker moved to new text
    assert not seal_for("glpat-other", person=True).trusts(sealed)  # another token's key
    assert Seal().trusts("anything") and Seal().sign("x") == "x"  # a bot: nothing to seal
    assert seal_for("ghs_app", person=False) == Seal()
