"""``claude-runner demo``: one @claude mention, end to end, on this machine, in a few seconds.

A real webhook payload from octokit/webhooks (``runner/testing/data/``) is played through the
same ``run_github_job`` a GitHub Actions step runs, against loopback fakes: the GitHub REST API
(``FakeGitHub``), the Messages API with a scripted model (``FakeMessagesAPI``) and a bare git
repository as the remote. No keys, no network. Then it shows what the requester would see.

A scenario is data (``Scenario``): a new one (e.g. a review) is one more entry in ``SCENARIOS``.
Only stdlib modules are imported at the top, so the CLI can list the scenarios cheaply.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

REQUEST = "@claude fix the bug in calc.py"
BUGGY_CALC = 'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n'
TEST_CALC = "from calc import add\n\nassert add(2, 3) == 5, f'add(2, 3) == {add(2, 3)}'\nprint('ok')\n"
PR_BRANCH, BASE = "fix-calc", "master"
# A reserved example host (RFC 2606), so no link in the demo points at a real repository; a git
# `insteadOf` rule sends its clone URLs to the local bare repo.
SERVER = "https://github.example"
FAKE_KEY = "sk-ant-demo-not-a-real-key"
# Bash needs an allow rule (action input claude_args), as in a real workflow.
ALLOW_TEST = {"claude_args": '--allowedTools "Bash(python3:*)"'}
# Only these variables of the caller's environment reach the job: a real ANTHROPIC_*, GITHUB_*
# or CLAUDE_CODE_USE_* variable must not steer the demo away from the fakes.
PASSED_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "USER", "SYSTEMROOT")

Script = Callable[[Path], list[Any]]
# The review scenarios' pull request adds mul() to calc.py (lines 4-11 on the branch).
MUL_SRC = (
    '\n\ndef mul(a, b):\n    """The product of a and b."""\n'
    "    result = 0\n    for _ in range(b):\n        result = result + a\n    return result\n"
)


def _fix_script(workspace: Path) -> list[Any]:
    """The model's turns: plan, read, fix, check, summarise (as a careful model would)."""
    from runner.testing.scripting import text, tool_use

    calc = str(workspace / "calc.py")
    plan = "- [x] read calc.py\n- [ ] fix add()\n- [ ] run the test"
    return [
        [tool_use("update_progress", {"checklist": plan}), tool_use("Read", {"file_path": calc})],
        [tool_use("Edit", {"file_path": calc, "old_string": "return a - b", "new_string": "return a + b"})],
        [tool_use("Bash", {"command": "python3 test_calc.py", "description": "Run the calc test"})],
        [text("Fixed `add()` in `calc.py`: it returned `a - b` instead of `a + b`. `test_calc.py` passes.")],
    ]


def _review_script(workspace: Path) -> list[Any]:
    """A reviewer's turns: read, one mechanical fix on the diff, one finding outside it, a verdict."""
    from runner.testing.scripting import text, tool_use

    mul = {
        "path": "calc.py",
        "line": 8,
        "end_line": 11,
        "severity": "important",
        "title": "mul() loops instead of multiplying",
        "body": "The loop is O(b) and returns 0 for any negative `b`: `mul(2, -3)` gives 0, not -6.",
        "suggestion": "    return a * b",
    }
    outside = {
        "path": "test_calc.py",
        "line": 3,
        "severity": "pre_existing",
        "title": "test_calc.py fails: add() subtracts",
        "body": "`add()` returns `a - b`; this PR does not touch it, but the test cannot pass.",
    }
    return [
        [tool_use("Read", {"file_path": str(workspace / "calc.py")})],
        [tool_use("report_finding", mul), tool_use("report_finding", outside)],
        [text("mul() is right for b >= 0 only; the suggested one-liner fixes it. Otherwise fine.")],
    ]


@dataclass(frozen=True)
class Scenario:
    """One demo: where the mention is made, what the model does, how the action is configured."""

    summary: str
    on_pull_request: bool
    title: str
    body: str
    script: Script = _fix_script
    inputs: dict[str, str] = field(default_factory=lambda: dict(ALLOW_TEST))  # the workflow's `with:`
    platform: str = "github"
    review: bool = False  # a pull request opened with `review: true` (no mention)


SCENARIOS: dict[str, Scenario] = {
    "pr-comment": Scenario(
        "a comment on a pull request: the fix is pushed to the PR's branch",
        on_pull_request=True,
        title="Fix add() in calc.py",
        body="add() gives the wrong answer.",
    ),
    "issue": Scenario(
        "a comment on an issue: the fix goes to a new branch and a draft PR",
        on_pull_request=False,
        title="add() returns the wrong result",
        body="add(2, 3) gives -1.",
        inputs={**ALLOW_TEST, "pr_mode": "draft"},
    ),
    "gitlab-mr": Scenario(
        "a note on a GitLab merge request: the fix is pushed to the MR's source branch",
        on_pull_request=True,
        title="Fix add() in calc.py",
        body="add() gives the wrong answer.",
        platform="gitlab",
    ),
    "gitlab-issue": Scenario(
        "a note on a GitLab issue: the fix goes to a new branch and a draft MR",
        on_pull_request=False,
        title="add() returns the wrong result",
        body="add(2, 3) gives -1.",
        platform="gitlab",
    ),
    "review": Scenario(
        "a pull request opened with `review: true`: one review with inline comments and a summary",
        on_pull_request=True,
        title="Add mul() to calc.py",
        body="Adds multiplication.",
        script=_review_script,
        inputs={"review": "true"},
        review=True,
    ),
    "gitlab-review": Scenario(
        "a merge request pipeline with REVIEW=true: diff discussions and a summary note",
        on_pull_request=True,
        title="Add mul() to calc.py",
        body="Adds multiplication.",
        script=_review_script,
        inputs={"review": "true"},
        platform="gitlab",
        review=True,
    ),
}


@dataclass
class Outcome:
    """What a run left behind, as the requester and the workflow see it."""

    exit_code: int
    number: int
    request: str
    comment: str
    branch: str | None
    pr_url: str | None
    commits: list[dict[str, str]]
    diff: str
    review_comments: int
    log: str
    seconds: float = 0.0
    inline: str = ""  # a review: the first inline comment's body

    @property
    def ok(self) -> bool:
        """The flow succeeded and the tracking (or review summary) comment says so."""
        return self.exit_code == 0 and (
            "Claude finished" in self.comment or "claude-runner:review" in self.comment
        )


def run_demo(scenario: str, *, as_json: bool, out: TextIO) -> int:
    """Play ``scenario`` and report on ``out``; returns the exit code (0 when the run succeeded)."""
    from runner.errors import UsageError

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown demo scenario {scenario!r}", f"use one of {', '.join(SCENARIOS)}")
    started = time.monotonic()
    chosen = SCENARIOS[scenario]
    if chosen.platform == "gitlab":
        from runner.demo.gitlab import play_gitlab

        outcome = play_gitlab(chosen)
    else:
        outcome = _play(chosen)
    outcome.seconds = time.monotonic() - started
    if as_json:
        fields = {
            "scenario": scenario,
            "ok": outcome.ok,
            "comment": outcome.comment,
            "branch": outcome.branch,
            "commits": len(outcome.commits),
            "pr_url": outcome.pr_url,
            "review_comments": outcome.review_comments,
        }
        print(json.dumps(fields), file=out, flush=True)
    else:
        _print_report(scenario, outcome, out)
    return 0 if outcome.ok else outcome.exit_code or 1


def _play(scenario: Scenario) -> Outcome:
    import tempfile
    from unittest import mock

    from runner.testing.fake_github import FakeGitHub
    from runner.testing.fake_messages import FakeMessagesAPI

    with tempfile.TemporaryDirectory(prefix="claude-runner-demo-") as tmp:
        root = Path(tmp).resolve()
        payload = _load_payload()
        owner, name = payload["repository"]["full_name"].split("/")
        origin = root / "remotes" / owner / f"{name}.git"
        gitconfig = root / "gitconfig"
        # Our own global git config: the user's (signing, hooks, templates) must not change the demo.
        gitconfig.write_text(
            f'[url "file://{root}/remotes/"]\n\tinsteadOf = {SERVER}/\n'
            "[user]\n\tname = Codertocat\n\temail = codertocat@example.com\n"
            "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = master\n",
            encoding="utf-8",
        )
        # The runner's own git processes read os.environ; patch.dict restores it afterwards.
        with mock.patch.dict(os.environ, GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1"):
            workspace = _make_repos(root, origin, review=scenario.review)
            before = _heads(origin)
            github = FakeGitHub(
                owner,
                name,
                default_branch=BASE,
                default_sha=before[BASE],
                branch_lookup=lambda ref: _heads(origin).get(ref),
                web_url=SERVER,
            )
            with github, FakeMessagesAPI(scenario.script(workspace)) as model:
                event = root / "event.json"
                if scenario.review:
                    payload = _stage_review(github, scenario, payload, origin, event)
                else:
                    _stage(github, scenario, payload, before, event)
                env = _job_env(root, workspace, event, github.api_url, model.base_url, scenario.inputs)
                if scenario.review:
                    env["GITHUB_EVENT_NAME"] = "pull_request"
                code, log = _run_job(env)
                outputs = _read_outputs(root / "github_output")
                branch = outputs.get("branch_name") or None
                number = payload["number"] if scenario.review else payload["issue"]["number"]
                request_id = None if scenario.review else payload["comment"]["id"]
                comments = [c for c in github.comments(number) if c.id != request_id]
                inline = [c.body for c in github.review_comments.values()] if scenario.review else []
                return Outcome(
                    exit_code=code,
                    number=number,
                    request=REVIEW_REQUEST if scenario.review else payload["comment"]["body"],
                    comment=comments[-1].body if comments else "",
                    branch=branch,
                    pr_url=outputs.get("pr_url") or None,
                    commits=_new_commits(origin, branch, before) if branch else [],
                    diff=_diff(origin, branch, before) if branch else "",
                    review_comments=len(github.review_comments),
                    log=log,
                    inline=inline[0] if inline else "",
                )


def _load_payload() -> dict[str, Any]:
    """The octokit/webhooks example of ``issue_comment.created``, shipped with the package."""
    from importlib.resources import files

    data = files("runner.testing").joinpath("data", "issue_comment.created.json").read_text("utf-8")
    payload: dict[str, Any] = json.loads(data)
    return payload


def _stage(
    github: FakeGitHub, scenario: Scenario, payload: dict[str, Any], heads: dict[str, str], path: Path
) -> None:
    """Put the thread on the fake GitHub and write the event to ``path`` as GitHub delivers it.

    The payload is transformed the documented way (see tests/fixtures/github/README.md): the
    comment mentions @claude, and on a pull request the issue carries ``pull_request``.
    """
    from runner.testing.github_objects import iso

    issue, comment, sender = payload["issue"], payload["comment"], payload["sender"]["login"]
    number = issue["number"]
    repo_url = f"{SERVER}/{payload['repository']['full_name']}"
    github.add_user(sender, permission="admin")  # only writers may start a run
    if scenario.on_pull_request:
        github.add_pull(
            number,
            head_ref=PR_BRANCH,
            base_ref=BASE,
            head_sha=heads[PR_BRANCH],
            title=scenario.title,
            body=scenario.body,
            user=sender,
        )
        issue["pull_request"] = {
            "url": f"{github.api_url}/repos/{payload['repository']['full_name']}/pulls/{number}",
            "html_url": f"{repo_url}/pull/{number}",
        }
    else:
        github.add_issue(number, title=scenario.title, body=scenario.body, user=sender)
    # The request is in the thread too, so gathering context finds it where GitHub would.
    posted = github.add_comment(number, REQUEST, user=sender)
    issue.update(title=scenario.title, body=scenario.body)
    comment.update(body=REQUEST, id=posted.id, created_at=iso(posted.created_at))
    comment["updated_at"] = comment["created_at"]
    payload["repository"]["default_branch"] = BASE
    path.write_text(json.dumps(payload), encoding="utf-8")


REVIEW_REQUEST = "pull_request opened, with `review: true` in the workflow"


def pr_files(origin: Path, base: str, head: str) -> list[dict[str, Any]]:
    """The pull request's files as the host lists them, from the bare remote's diff."""
    from runner.review.checkout import files_between

    found = files_between(origin, _git("--git-dir", str(origin), "merge-base", base, head, cwd=origin), head)
    return [{"filename": f.path, "status": f.status, "patch": f.patch} for f in found]


def _stage_review(
    github: FakeGitHub, scenario: Scenario, comment_payload: dict[str, Any], origin: Path, path: Path
) -> dict[str, Any]:
    """Open the pull request on the fake GitHub and write its ``pull_request.opened`` event (built
    from the recorded payload's repository and sender, in the documented ``pull_request`` shape)."""
    sender, repository = comment_payload["sender"], comment_payload["repository"]
    github.add_user(sender["login"], permission="admin")
    heads = _heads(origin)
    number = comment_payload["issue"]["number"]
    github.add_pull(
        number, head_ref=PR_BRANCH, base_ref=BASE, head_sha=heads[PR_BRANCH], title=scenario.title,
        body=scenario.body, user=sender["login"], files=pr_files(origin, BASE, PR_BRANCH),
    )  # fmt: skip
    repository["default_branch"] = BASE
    side = {"repo": repository, "user": sender}
    pull = {
        "number": number, "title": scenario.title, "body": scenario.body, "state": "open", "draft": False,
        "user": sender, "html_url": f"{SERVER}/{repository['full_name']}/pull/{number}",
        "head": {**side, "ref": PR_BRANCH, "sha": heads[PR_BRANCH]},
        "base": {**side, "ref": BASE, "sha": heads[BASE]},
    }  # fmt: skip
    payload = {"action": "opened", "number": number, "pull_request": pull, "repository": repository}
    payload["sender"] = sender
    path.write_text(json.dumps(payload), encoding="utf-8")
    return payload


def _job_env(
    root: Path, workspace: Path, event: Path, api_url: str, model_url: str, inputs: dict[str, str]
) -> dict[str, str]:
    """The variables GitHub Actions sets for the step, with the action's inputs as ``INPUT_*``."""
    env = {name: os.environ[name] for name in PASSED_VARS if name in os.environ}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="issue_comment",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY=json.loads(event.read_text("utf-8"))["repository"]["full_name"],
        GITHUB_API_URL=api_url,
        GITHUB_SERVER_URL=SERVER,
        GITHUB_RUN_ID="1",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(root / "github_output"),
        GITHUB_STEP_SUMMARY=str(root / "step_summary"),
        RUNNER_TEMP=str(root / "runner_temp"),
        GIT_CONFIG_GLOBAL=str(root / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        ANTHROPIC_BASE_URL=model_url,
        ANTHROPIC_API_KEY=FAKE_KEY,
        CLAUDE_RUNNER_RETRY_BASE_MS="10",  # a hiccup of the fake costs milliseconds, not seconds
        INPUT_GITHUB_TOKEN="ghp_fake_token",
    )
    env.update({f"INPUT_{key.upper()}": value for key, value in inputs.items()})
    return env


def _run_job(env: dict[str, str]) -> tuple[int, str]:
    """``claude-runner github`` in this process (a second interpreter would cost a second).

    Its log goes to a buffer, shown only if the run fails; an error it raises is a failed run.
    """
    from runner.ci.github import run_github_job
    from runner.errors import RunnerError
    from runner.settings.github import read_github_job

    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            code = run_github_job(read_github_job(env))
        except RunnerError as exc:
            print(f"error: {exc.one_line()}", file=log)
            code = exc.exit_code
    return code, log.getvalue()


def _git(*args: str, cwd: Path) -> str:
    import subprocess

    from runner.errors import GitError

    try:
        proc = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH", "install git; the runner needs it") from exc
    except subprocess.CalledProcessError as exc:
        raise GitError(f"git {' '.join(args)[:80]} failed: {exc.stderr.strip()}") from exc
    return proc.stdout.strip()


def _make_repos(root: Path, origin: Path, *, review: bool = False) -> Path:
    """The remote (``master`` with the bug, ``fix-calc`` with a PR's work: a README, and for a
    review ``mul()`` in calc.py) and the job's checkout."""
    seed = root / "seed"
    seed.mkdir()
    _git("init", "-q", "-b", BASE, cwd=seed)
    (seed / "calc.py").write_text(BUGGY_CALC, encoding="utf-8")
    (seed / "test_calc.py").write_text(TEST_CALC, encoding="utf-8")
    _git("add", ".", cwd=seed)
    _git("commit", "-qm", "Add calc.add", cwd=seed)
    _git("checkout", "-q", "-b", PR_BRANCH, cwd=seed)
    (seed / "README.md").write_text("# calc\n\n`add(a, b)` adds two numbers.\n", encoding="utf-8")
    if review:
        (seed / "calc.py").write_text(BUGGY_CALC + MUL_SRC, encoding="utf-8")
    _git("add", ".", cwd=seed)
    _git("commit", "-qm", "Document calc", cwd=seed)
    origin.parent.mkdir(parents=True)
    _git("clone", "-q", "--bare", str(seed), str(origin), cwd=root)
    workspace = root / "workspace"
    _git("clone", "-q", "-b", BASE, str(origin), str(workspace), cwd=root)
    return workspace


def _heads(origin: Path) -> dict[str, str]:
    out = _git(
        "--git-dir",
        str(origin),
        "for-each-ref",
        "--format=%(refname:short) %(objectname)",
        "refs/heads",
        cwd=origin,
    )
    return dict(line.split(" ", 1) for line in out.splitlines())


def _new_commits(origin: Path, branch: str, before: dict[str, str]) -> list[dict[str, str]]:
    """The commits on ``branch`` that were on no branch before the run, newest first."""
    fmt = "%h%x1f%an <%ae>%x1f%s%x1f%(trailers:key=Co-authored-by,valueonly,separator=%x2C )%x1e"
    out = _git(
        "--git-dir", str(origin), "log", f"--format={fmt}", branch, "--not", *before.values(), cwd=origin
    )
    keys = ("hash", "author", "subject", "co_authored_by")
    return [
        dict(zip(keys, rec.strip().split("\x1f"), strict=True)) for rec in out.split("\x1e") if rec.strip()
    ]


def _diff(origin: Path, branch: str, before: dict[str, str]) -> str:
    start = before.get(branch) or before[BASE]
    return _git("--git-dir", str(origin), "diff", "--no-color", "--no-ext-diff", start, branch, cwd=origin)


def _read_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the workflow's next step reads it (``name=value`` or a heredoc)."""
    values: dict[str, str] = {}
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        name, eq, value = lines[i].partition("=")
        if not eq and "<<" in lines[i]:
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            value, i = "\n".join(lines[i + 1 : end]), end
        values[name] = value
        i += 1
    return values


def _print_report(scenario: str, outcome: Outcome, out: TextIO) -> None:
    """The five things a user looks at: request, comment, commits, branch/PR, time."""

    def say(line: str = "") -> None:
        print(line, file=out)

    def heading(title: str) -> None:
        say()
        say(f"── {title} " + "─" * max(3, 72 - len(title)))

    gitlab = SCENARIOS[scenario].platform == "gitlab"
    host, change = ("GitLab", "merge request") if gitlab else ("GitHub", "pull request")
    source = (
        "a Note Hook, from go-gitlab's test data"
        if gitlab
        else "issue_comment.created, from octokit/webhooks"
    )
    if SCENARIOS[scenario].review:
        source = "the CI variables of a merge request pipeline" if gitlab else "a pull_request opened event"
    say(f"claude-runner demo --scenario {scenario}: {SCENARIOS[scenario].summary}.")
    say(f"{host}, the Messages API (scripted model) and the git remote are loopback fakes: offline, no keys.")
    heading(f"1. The request ({source})")
    say(f"  {outcome.request}")
    what = "review summary" if outcome.inline or "claude-runner:review" in outcome.comment else "tracking"
    heading(f"2. The {what} {'note' if gitlab else 'comment'}, as {host} shows it")
    for body in (outcome.comment, *((outcome.inline,) if outcome.inline else ())):
        shown = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)  # GitHub hides these
        for line in (shown.strip() or "(no comment was posted)").splitlines():
            say(f"  │ {line}" if line else "  │")
        say()
    heading("3. Commits pushed")
    for commit in outcome.commits:
        say(f"  {commit['hash']}  {commit['subject']}")
        say(f"           author: {commit['author']}")
        if commit["co_authored_by"]:
            say(f"           Co-authored-by: {commit['co_authored_by']}")
    if not outcome.commits:
        say("  (none)")
    for line in outcome.diff.splitlines():
        if line.startswith(("-", "+", "@@")) and not line.startswith(("---", "+++")):
            say(f"    {line}")
    heading(f"4. Branch and {change}")
    say(f"  branch: {outcome.branch or '(none)'}")
    sigil = "!" if gitlab else "#"
    existing = (
        f"{sigil}{outcome.number}, which the request was on" if SCENARIOS[scenario].on_pull_request else ""
    )
    say(f"  {'MR' if gitlab else 'PR'}:     {outcome.pr_url or existing or '(none opened)'}")
    if not outcome.ok:
        heading("Job log (the run failed)")
        say(outcome.log.rstrip())
    heading("5. Time")
    say(f"  {outcome.seconds:.1f} s, {'ok' if outcome.ok else f'FAILED (exit {outcome.exit_code})'}")
    out.flush()
