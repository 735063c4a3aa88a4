"""The GitHub scenarios of ``claude-runner demo``: a comment on a pull request or an issue, or a
pull request opened with ``review: true``.

A real webhook payload from octokit/webhooks (``runner/testing/data/``) is played through the
same ``run_github_job`` a GitHub Actions step runs, against loopback fakes: the GitHub REST API
(``FakeGitHub``), the Messages API with a scripted model (``FakeMessagesAPI``) and a bare git
repository as the remote (``world.py``). No keys, no network.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.demo.scenarios import REQUEST, Outcome, Scenario
from runner.demo.stages import change_url, first_posted_body, tool_call_lines
from runner.demo.world import (
    BASE,
    FAKE_KEY,
    PR_BRANCH,
    branch_heads,
    diff_since,
    isolated_git,
    make_repos,
    new_commits,
    passed_environ,
    pr_files,
)

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

# A reserved example host (RFC 2606), so no link in the demo points at a real repository; a git
# `insteadOf` rule sends its clone URLs to the local bare repo.
SERVER = "https://github.example"
REVIEW_REQUEST = "pull_request opened, with `review: true` in the workflow"


def play_github(scenario: Scenario) -> Outcome:
    """Run ``claude-runner github`` in-process for ``scenario`` against the fakes."""
    import tempfile

    from runner.testing.fake_github import FakeGitHub
    from runner.testing.fake_messages import FakeMessagesAPI

    with tempfile.TemporaryDirectory(prefix="claude-runner-demo-") as tmp:
        root = Path(tmp).resolve()
        payload = _load_payload()
        owner, name = payload["repository"]["full_name"].split("/")
        origin = root / "remotes" / owner / f"{name}.git"
        with isolated_git(root, SERVER, user="Codertocat", email="codertocat@example.com"):
            workspace = make_repos(root, origin, review=scenario.review)
            before = branch_heads(origin)
            github = FakeGitHub(
                owner,
                name,
                default_branch=BASE,
                default_sha=before[BASE],
                branch_lookup=lambda ref: branch_heads(origin).get(ref),
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
                pr_url = outputs.get("pr_url") or None
                posts = github.requests_to("POST", "create_comment")
                full_name = payload["repository"]["full_name"]
                asked_on = scenario.on_pull_request and change_url(SERVER, full_name, number, "github")
                return Outcome(
                    exit_code=code,
                    number=number,
                    request=REVIEW_REQUEST if scenario.review else payload["comment"]["body"],
                    comment=comments[-1].body if comments else "",
                    branch=branch,
                    pr_url=pr_url,
                    commits=new_commits(origin, branch, before) if branch else [],
                    diff=diff_since(origin, branch, before) if branch else "",
                    review_comments=len(github.review_comments),
                    log=log,
                    inline=inline[0] if inline else "",
                    # A review has no "working" comment: its summary is posted once, at the end.
                    working="" if scenario.review else first_posted_body(posts),
                    tool_calls=tool_call_lines(log, workspace),
                    head_sha=branch_heads(origin).get(branch) if branch else None,
                    change_url=pr_url or asked_on or None,
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


def _stage_review(
    github: FakeGitHub, scenario: Scenario, comment_payload: dict[str, Any], origin: Path, path: Path
) -> dict[str, Any]:
    """Open the pull request on the fake GitHub and write its ``pull_request.opened`` event (built
    from the recorded payload's repository and sender, in the documented ``pull_request`` shape)."""
    sender, repository = comment_payload["sender"], comment_payload["repository"]
    github.add_user(sender["login"], permission="admin")
    heads = branch_heads(origin)
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
    env = passed_environ()
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
        CLAUDE_CONFIG_DIR=str(root / "claude-config"),  # the demo never runs your own hooks
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
