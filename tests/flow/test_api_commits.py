"""Commits made through GitHub's GraphQL `createCommitOnBranch` (`use_commit_signing`): every kind
of change reaches the branch with the same tree git would have pushed, large change sets are split,
and a branch that moved on is answered like a rejected push."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner import git
from runner.flow.api_commits import api_push, chunks
from runner.platforms.base import BranchMoved, FileChanges, PushTarget
from runner.platforms.github import GitHubAuth, GitHubPlatform
from runner.testing.fake_github import FakeGitHub

GIT = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
TOKEN = "ghp_fake_token"


def run(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def world(tmp_path: Path):
    """A bare origin with `main` and `feature`, a clone on `feature`, and a fake GitHub writing to origin."""
    seed, origin, work = tmp_path / "seed", tmp_path / "origin.git", tmp_path / "work"
    seed.mkdir()
    run("init", "-q", "-b", "main", cwd=seed)
    (seed / "keep.txt").write_text("keep\n")
    (seed / "old.txt").write_text("old\n")
    (seed / "change.py").write_text("x = 1\n")
    run("add", ".", cwd=seed)
    run("commit", "-qm", "init", cwd=seed)
    run("branch", "feature", cwd=seed)
    run("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp_path)
    run("clone", "-q", "-b", "feature", str(origin), str(work), cwd=tmp_path)
    with FakeGitHub(default_branch="main") as github:
        github.git_dir = origin
        platform = GitHubPlatform(
            "octo-org/hello-world", GitHubAuth(TOKEN), api_url=github.api_url, server_url=github.web_url
        )
        yield github, platform, origin, work


def local_commit(work: Path) -> str:
    (work / "old.txt").unlink()
    (work / "change.py").write_text("x = 2\n")
    (work / "image.bin").write_bytes(bytes(range(256)) * 4)  # binary, NULs included
    (work / "docs").mkdir()
    (work / "docs" / "new.md").write_text("# new\n")
    run("add", "-A", cwd=work)
    run("commit", "-qm", "Changes from Claude\n\nWhat changed and why.", cwd=work)
    return run("rev-parse", "HEAD", cwd=work)


def target(origin: Path) -> PushTarget:
    return PushTarget(url=str(origin), token=None)


def test_added_changed_deleted_and_binary_files_reach_the_branch(world):
    github, platform, origin, work = world
    start = run("rev-parse", "HEAD", cwd=work)
    head = local_commit(work)
    made = api_push(
        work,
        target(origin),
        platform.api_committer(),
        "feature",
        start_sha=start,
        protected={"main"},
        log=print,
    )
    assert made == github.signed_commits[-1] == run("rev-parse", "refs/heads/feature", cwd=origin)
    # Same tree as the local commit: git would have pushed exactly this.
    assert run("rev-parse", f"{made}^{{tree}}", cwd=origin) == run("rev-parse", f"{head}^{{tree}}", cwd=work)
    assert run("log", "-1", "--format=%P%n%s%n%b", made, cwd=origin).splitlines() == [
        start,
        "Changes from Claude",
        "What changed and why.",
    ]


def test_a_new_branch_is_created_at_the_start_and_a_large_change_set_is_split(world):
    github, platform, origin, work = world
    start = run("rev-parse", "HEAD", cwd=work)
    run("checkout", "-q", "-b", "claude/issue-1", cwd=work)
    head = local_commit(work)
    committer = platform.api_committer()
    committer.max_request_bytes = 1600  # room for three of the four files in one request
    made = api_push(
        work, target(origin), committer, "claude/issue-1", start_sha=start, protected={"main"}, log=print
    )
    assert len(github.signed_commits) == 2
    assert run("rev-list", "--count", f"{start}..{made}", cwd=origin) == "2"
    assert run("rev-parse", f"{made}^{{tree}}", cwd=origin) == run("rev-parse", f"{head}^{{tree}}", cwd=work)
    subjects = run("log", "--format=%s", f"{start}..{made}", cwd=origin).splitlines()
    assert subjects == ["Changes from Claude (2/2)", "Changes from Claude (1/2)"]


def test_a_branch_that_moved_on_is_a_non_fast_forward(world):
    github, platform, origin, work = world
    start = run("rev-parse", "HEAD", cwd=work)
    local_commit(work)
    other = origin.parent / "other"
    run("clone", "-q", "-b", "feature", str(origin), str(other), cwd=origin.parent)
    (other / "keep.txt").write_text("someone else\n")
    run("commit", "-qam", "meanwhile", cwd=other)
    run("push", "-q", "origin", "feature", cwd=other)
    with pytest.raises(git.NonFastForward):
        api_push(
            work,
            target(origin),
            platform.api_committer(),
            "feature",
            start_sha=start,
            protected={"main"},
            log=print,
        )
    assert github.signed_commits == []


def test_the_fake_refuses_a_stale_expected_head(world):
    _, platform, origin, work = world
    start = run("rev-parse", "HEAD", cwd=work)
    committer = platform.api_committer()
    with pytest.raises(BranchMoved):
        committer.commit("feature", "0" * 40, FileChanges((("a.txt", b"a"),)), "x")
    assert run("rev-parse", "refs/heads/feature", cwd=origin) == start


def test_the_default_branch_is_never_committed_to(world):
    _, platform, origin, work = world
    start = run("rev-parse", "HEAD", cwd=work)
    local_commit(work)
    with pytest.raises(git.GitError, match="protected branch 'main'"):
        api_push(
            work,
            target(origin),
            platform.api_committer(),
            "main",
            start_sha=start,
            protected={"main"},
            log=print,
        )


def test_chunks_refuse_a_file_larger_than_one_request():
    big = git.FileChange("big.bin", b"x" * 3000)
    with pytest.raises(git.GitError, match="too large for a commit through the API"):
        list(chunks([big], 1000))
