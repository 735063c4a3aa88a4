"""The work is never lost: each way a push can fail, against a real bare remote, and what the user is told."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from runner.flow.job import Job
from runner.flow.rescue import Rescue, SavedWork, rescue_branch, save_work, work_report
from runner.flow.workspace import WorkspacePlan, prepare
from runner.platforms.base import PushTarget
from tests.gitrepos import (
    clone,
    commit,
    isolate_git,
    make_origin,
    path_without,
    push_from_elsewhere,
    reject_pushes,
    remote_heads,
    remote_log,
    sh,
)

BOT = ("claude[bot]", "41898282+claude[bot]@users.noreply.github.com")
REQUESTER = ("alice", "1+alice@users.noreply.github.com")
CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
FIXED = CALC.replace("a - b", "a + b")
NOW = datetime(2026, 1, 21, 14, 5, 33)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """``main``, and a pull request's branch ``fix-calc`` one commit ahead."""
    bare = make_origin(tmp_path, {"calc.py": CALC, "README.md": "calc\n"})
    seed = tmp_path / "seed"
    sh(seed, "checkout", "-q", "-b", "fix-calc")
    commit(seed, {"NOTES.md": "notes\n"}, "notes")
    sh(seed, "push", "-q", "origin", "fix-calc")
    return bare


@pytest.fixture
def job(tmp_path: Path) -> Job:
    return Job(
        workspace=tmp_path / "ws",
        temp_dir=tmp_path / "runner-temp",
        repo_url="https://github.com/o/r",
        job_url="https://github.com/o/r/actions/runs/777",
    )


PR_BRANCH = WorkspacePlan("fix-calc", "main", False, True, "the pull request's branch")


def checkout(origin: Path, job: Job, plan: WorkspacePlan = PR_BRANCH) -> str:
    """The CI checkout, prepared as the runner prepares it; the commit the agent starts from."""
    clone(origin, job.workspace)
    return prepare(plan, job.workspace, PushTarget(str(origin)))


def save(origin: Path, job: Job, start: str, *, existing: bool = True, limit: int | None = None) -> SavedWork:
    branch = PR_BRANCH.branch if existing else "claude/issue-9-20260121-1405"
    rescue = Rescue(rescue_branch(job, NOW), job.temp_dir, *([limit] if limit else []))
    return save_work(
        job.workspace,
        PushTarget(str(origin)),
        str(branch),
        start_sha=start,
        message="PR #5: changes from Claude\n\nFixed add().",
        author=BOT,
        co_author=REQUESTER,
        protected={"main"},
        rescue=rescue,
        existing_branch=existing,
    )


def fix_calc(job: Job) -> None:
    """The agent's edit."""
    (job.workspace / "calc.py").write_text(FIXED)


def test_a_clean_push_needs_no_note(origin: Path, job: Job) -> None:
    start = checkout(origin, job)
    fix_calc(job)
    saved = save(origin, job, start)
    assert saved.pushed and saved.branch == "fix-calc" and not saved.rescued and not saved.rebased
    assert remote_log(origin, "fix-calc")[:2] == ["PR #5: changes from Claude", "notes"]
    assert work_report(saved, job) == ""


def test_nothing_changed_means_no_commit_and_nothing_to_say(origin: Path, job: Job) -> None:
    start = checkout(origin, job)
    saved = save(origin, job, start)
    assert saved.commit is None and not saved.pushed
    assert set(remote_heads(origin)) == {"main", "fix-calc"}
    assert work_report(saved, job) == ""


def test_someone_pushed_meanwhile_and_the_work_is_replayed_on_top(origin: Path, job: Job) -> None:
    start = checkout(origin, job)
    fix_calc(job)
    push_from_elsewhere(origin, "fix-calc", {"README.md": "calc, documented\n"}, "docs from a teammate")
    saved = save(origin, job, start)
    assert saved.pushed and saved.branch == "fix-calc" and saved.rebased
    # Both commits are on the pull request's branch: the teammate's, then the agent's on top.
    assert remote_log(origin, "fix-calc")[:3] == [
        "PR #5: changes from Claude",
        "docs from a teammate",
        "notes",
    ]
    assert sh(origin, "show", "fix-calc:calc.py") + "\n" == FIXED
    assert sh(origin, "show", "fix-calc:README.md") == "calc, documented"
    assert set(remote_heads(origin)) == {"main", "fix-calc"}  # no rescue branch needed
    assert "moved on while Claude worked" in work_report(saved, job)


def test_a_conflicting_push_sends_the_work_to_a_rescue_branch(origin: Path, job: Job) -> None:
    start = checkout(origin, job)
    fix_calc(job)
    theirs = push_from_elsewhere(origin, "fix-calc", {"calc.py": CALC.replace("a - b", "b + a")}, "their fix")
    saved = save(origin, job, start)
    assert saved.pushed and saved.rescued and saved.branch == "claude/rescue-777"
    assert remote_heads(origin)["fix-calc"] == theirs  # their work untouched
    # The rescue branch holds the agent's commit, on the commit the agent started from.
    assert remote_log(origin, "claude/rescue-777", "%s|%an")[0] == f"PR #5: changes from Claude|{BOT[0]}"
    assert sh(origin, "rev-parse", "claude/rescue-777~1") == start
    assert sh(origin, "show", "claude/rescue-777:calc.py") + "\n" == FIXED
    report = work_report(saved, job)
    assert "[`claude/rescue-777`](https://github.com/o/r/tree/claude/rescue-777)" in report
    assert "not on `fix-calc`" in report and "someone pushed meanwhile" in report
    assert "git fetch origin claude/rescue-777" in report and "git merge FETCH_HEAD" in report
    assert "```diff\n" in report and "+    return a + b" in report  # small: shown too


def test_a_rescue_branch_left_by_an_earlier_attempt_is_not_overwritten(origin: Path, job: Job) -> None:
    sh(origin, "branch", "claude/rescue-777", "main")
    earlier = push_from_elsewhere(origin, "claude/rescue-777", {"calc.py": "# earlier\n"}, "earlier attempt")
    reject_pushes(origin, only="fix-calc")
    start = checkout(origin, job)
    fix_calc(job)
    saved = save(origin, job, start)
    assert saved.pushed and re.fullmatch(r"claude/rescue-777-[0-9a-f]{6}", str(saved.branch))
    assert remote_heads(origin)["claude/rescue-777"] == earlier  # what a re-run of CI run 777 left there
    assert sh(origin, "show", f"{saved.branch}:calc.py") + "\n" == FIXED


def test_a_new_branch_someone_else_took_is_not_rebased_onto(origin: Path, job: Job) -> None:
    plan = WorkspacePlan("claude/issue-9-20260121-1405", "main", True, True, "a new branch")
    start = checkout(origin, job, plan)
    fix_calc(job)
    sh(origin, "branch", "claude/issue-9-20260121-1405", "fix-calc")  # another run, same minute
    saved = save(origin, job, start, existing=False)
    assert saved.pushed and saved.branch == "claude/rescue-777" and not saved.rebased
    assert remote_heads(origin)["claude/issue-9-20260121-1405"] == remote_heads(origin)["fix-calc"]
    assert "git merge" not in work_report(saved, job)  # nothing to merge into: the work is on its own branch


def test_a_remote_refusing_every_push_leaves_a_patch_and_a_bundle(
    origin: Path, job: Job, tmp_path: Path
) -> None:
    reject_pushes(origin)
    start = checkout(origin, job)
    fix_calc(job)
    saved = save(origin, job, start)
    assert not saved.pushed and saved.branch is None and saved.commit
    assert (
        "pre-receive hook declined" in saved.push_error and "pre-receive hook declined" in saved.rescue_error
    )
    assert set(remote_heads(origin)) == {"main", "fix-calc"}
    assert saved.patch == job.temp_dir / "claude-rescue-777.patch" and saved.patch.is_file()
    assert saved.bundle == job.temp_dir / "claude-rescue-777.bundle" and saved.bundle.is_file()

    # The patch applies on the commit the agent started from and reproduces the change.
    applied = clone(origin, tmp_path / "applied", "-b", "fix-calc")
    sh(applied, "am", "-q", str(saved.patch))
    assert (applied / "calc.py").read_text() == FIXED
    assert sh(applied, "log", "-1", "--format=%an|%s") == f"{BOT[0]}|PR #5: changes from Claude"
    # So does the bundle.
    fetched = clone(origin, tmp_path / "fetched", "-b", "fix-calc")
    sh(fetched, "fetch", "-q", str(saved.bundle), "HEAD")
    assert sh(fetched, "show", "FETCH_HEAD:calc.py") + "\n" == FIXED

    report = work_report(saved, job)
    assert "The work could not be pushed" in report
    assert f"`git checkout -b claude/rescue-777 {start} && git am {saved.patch}`" in report
    assert f"`git fetch {saved.bundle} HEAD && git checkout -b claude/rescue-777 FETCH_HEAD`" in report
    # The diff in the comment is enough on its own: git apply reproduces the change.
    (diff,) = re.findall(r"```diff\n(.*?)```", report, re.S)
    by_hand = clone(origin, tmp_path / "by-hand", "-b", "fix-calc")
    sh(by_hand, "apply", "-", input=diff)
    assert (by_hand / "calc.py").read_text() == FIXED


def test_a_large_diff_is_not_put_in_the_comment(origin: Path, job: Job) -> None:
    reject_pushes(origin)
    start = checkout(origin, job)
    (job.workspace / "big.py").write_text("".join(f"line_{i} = {i}\n" for i in range(1000)))
    saved = save(origin, job, start)
    assert saved.patch and saved.patch.is_file()
    report = work_report(saved, job)
    assert str(saved.patch) in report and "```diff" not in report


def test_a_file_over_the_size_limit_is_left_out_with_a_note(origin: Path, job: Job) -> None:
    start = checkout(origin, job)
    fix_calc(job)
    (job.workspace / "dump.bin").write_bytes(b"\0" * 2048)
    saved = save(origin, job, start, limit=1024)
    assert saved.pushed and saved.branch == "fix-calc"
    files = sh(origin, "show", "--name-only", "--format=", "fix-calc").splitlines()
    assert files == ["calc.py"]  # the rest of the work went through
    assert (job.workspace / "dump.bin").is_file()
    report = work_report(saved, job)
    assert (
        "`dump.bin` (2 KiB) was left out of the commit: the host does not accept files over 1 KiB" in report
    )


def test_edits_inside_a_submodule_are_reported(origin: Path, job: Job, tmp_path: Path) -> None:
    lib = tmp_path / "lib.git"
    sh(tmp_path, "init", "-q", "--bare", "-b", "main", str(lib))
    lib_seed = clone(lib, tmp_path / "lib-seed")
    commit(lib_seed, {"lib.py": "X = 1\n"}, "lib")
    sh(lib_seed, "push", "-q", "origin", "HEAD:main")
    seed = tmp_path / "seed"
    sh(seed, "submodule", "add", "-q", str(lib), "vendor/lib")
    sh(seed, "commit", "-qm", "vendor lib")
    sh(seed, "push", "-q", "origin", "HEAD:fix-calc")
    start = checkout(origin, job)
    sh(job.workspace, "submodule", "update", "-q", "--init")
    fix_calc(job)
    (job.workspace / "vendor" / "lib" / "lib.py").write_text("X = 2\n")
    saved = save(origin, job, start)
    assert saved.pushed and sh(origin, "show", "--name-only", "--format=", "fix-calc") == "calc.py"
    report = work_report(saved, job)
    assert "Changes inside submodule `vendor/lib` were not committed" in report


def test_rescue_branch_names() -> None:
    def job(**kw: object) -> Job:
        return Job(workspace=Path("."), temp_dir=Path("."), repo_url="u", **kw)  # type: ignore[arg-type]

    assert rescue_branch(job(run_id="12345"), NOW) == "claude/rescue-12345"
    assert rescue_branch(job(job_url="https://github.com/o/r/actions/runs/777"), NOW) == "claude/rescue-777"
    assert (
        rescue_branch(job(job_url="https://gitlab.com/g/p/-/jobs/4242"), NOW, prefix="bot/")
        == "bot/rescue-4242"
    )
    made_up = rescue_branch(job(), NOW)
    assert re.fullmatch(r"claude/rescue-20260121-140533-[0-9a-f]{6}", made_up)
    assert made_up != rescue_branch(job(), NOW)


needs_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="git-lfs is not installed")
LFS_ATTRIBUTES = {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n"}


@needs_lfs
def test_lfs_objects_are_uploaded_with_the_push(origin: Path, job: Job) -> None:
    push_from_elsewhere(origin, "fix-calc", LFS_ATTRIBUTES, "track *.bin with LFS")
    start = checkout(origin, job)
    (job.workspace / "model.bin").write_bytes(b"weights " * 64)
    saved = save(origin, job, start)
    assert saved.pushed and saved.lfs_error == ""
    pointer = sh(origin, "show", "fix-calc:model.bin")
    oid = pointer.split("oid sha256:")[1].split()[0]
    assert (origin / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).read_bytes() == b"weights " * 64
    assert work_report(saved, job) == ""


def test_without_git_lfs_the_comment_says_lfs_objects_were_not_uploaded(
    origin: Path, job: Job, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_from_elsewhere(origin, "fix-calc", LFS_ATTRIBUTES, "track *.bin with LFS")
    start = checkout(origin, job)
    monkeypatch.setenv("PATH", path_without("git-lfs", tmp_path))
    (job.workspace / "model.bin").write_bytes(b"weights " * 64)
    saved = save(origin, job, start)
    assert saved.pushed
    report = work_report(saved, job)
    assert "⚠️ Git LFS objects were not uploaded" in report
    assert "`model.bin`" in report and "git-lfs is not installed on the runner" in report
