"""The GitLab scenarios of ``claude-runner demo``: a note on a merge request or an issue, or a
merge request pipeline with ``REVIEW=true``.

Same world as the GitHub demo (``world.py``: a bare remote, a checkout; a scripted model), with
the fake GitLab instead of the fake GitHub and a real Note Hook payload from go-gitlab's test data.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

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

PROJECT_PATH = "gitlab-org/gitlab-test"  # the project of the recorded hook payloads
PROJECT_ID = 5
SERVER = "https://gitlab.example"  # RFC 2606: no link in the demo points at a real GitLab
TOKEN = "glpat-demo-not-a-real-token"


def play_gitlab(scenario: Scenario) -> Outcome:
    """Run ``claude-runner gitlab`` in-process for ``scenario`` against the fakes."""
    import tempfile

    from runner.testing.fake_gitlab import FakeGitLab
    from runner.testing.fake_messages import FakeMessagesAPI

    with tempfile.TemporaryDirectory(prefix="claude-runner-demo-") as tmp:
        root = Path(tmp).resolve()
        origin = root / "remotes" / f"{PROJECT_PATH}.git"
        with isolated_git(root, SERVER, user="Demo", email="demo@example.com"):
            workspace = make_repos(root, origin, review=scenario.review)
            before = branch_heads(origin)
            gitlab = FakeGitLab(
                PROJECT_PATH,
                project_id=PROJECT_ID,
                tokens={TOKEN: "claude-runner-bot"},
                default_branch=BASE,
                branch_lookup=lambda ref: branch_heads(origin).get(ref),
                web_url=SERVER,
            )
            with gitlab, FakeMessagesAPI(scenario.script(workspace)) as model:
                gitlab.add_user("root", "maintainer")  # the recorded payload's author
                if scenario.review:
                    return _play_review(scenario, gitlab, root, workspace, origin, model.base_url)
                noteable = "merge_request" if scenario.on_pull_request else "issue"
                item: Any
                if scenario.on_pull_request:
                    item = gitlab.add_merge_request(
                        scenario.title,
                        iid=1,
                        description=scenario.body,
                        author="root",
                        source_branch=PR_BRANCH,
                    )
                else:
                    item = gitlab.add_issue(scenario.title, iid=1, description=scenario.body, author="root")
                asked = gitlab.add_note(noteable, item.iid, REQUEST, author="root")
                event = root / "hook.json"
                event.write_text(json.dumps(_payload(scenario, item, asked)), encoding="utf-8")
                code, log = _run(
                    _job_env(root, workspace, gitlab.base_url, model.base_url, scenario.inputs), event
                )
                notes = [n for n in gitlab.note_list(noteable, item.iid) if n.id != asked.id and not n.system]
                outputs = _dotenv(workspace / "claude-runner.env")
                branch = outputs.get("CLAUDE_BRANCH_NAME") or None
                mr_url = outputs.get("CLAUDE_PR_URL") or None
                asked_on = scenario.on_pull_request and change_url(SERVER, PROJECT_PATH, item.iid, "gitlab")
                return Outcome(
                    exit_code=code,
                    number=item.iid,
                    request=REQUEST,
                    comment=notes[-1].body if notes else "",
                    branch=branch,
                    pr_url=mr_url,
                    commits=new_commits(origin, branch, before) if branch else [],
                    diff=diff_since(origin, branch, before) if branch else "",
                    review_comments=sum(1 for n in gitlab.note_list(noteable, item.iid) if n.position),
                    log=log,
                    working=first_posted_body(gitlab.requests_to("POST", "create_note")),
                    tool_calls=tool_call_lines(log, workspace),
                    head_sha=branch_heads(origin).get(branch) if branch else None,
                    change_url=mr_url or asked_on or None,
                )


def _play_review(
    scenario: Scenario, gitlab: Any, root: Path, workspace: Path, origin: Path, model_url: str
) -> Outcome:
    """A merge request pipeline with ``REVIEW=true``: GitLab's ``CI_MERGE_REQUEST_*`` variables,
    no hook payload."""
    diffs = [
        {"old_path": f["filename"], "new_path": f["filename"], "diff": f["patch"] + "\n"}
        for f in pr_files(origin, BASE, PR_BRANCH)
    ]
    mr = gitlab.add_merge_request(
        scenario.title, iid=1, description=scenario.body, author="root", source_branch=PR_BRANCH, diffs=diffs
    )
    env = _job_env(root, workspace, gitlab.base_url, model_url, scenario.inputs)
    env.update(
        CI_PIPELINE_SOURCE="merge_request_event", CI_MERGE_REQUEST_IID=str(mr.iid), GITLAB_USER_LOGIN="root"
    )
    code, log = _run(env, None)
    notes = [n for n in gitlab.note_list("merge_request", mr.iid) if not n.system]
    inline = [n.body for n in notes if n.position]
    summary = [n.body for n in notes if not n.position]
    return Outcome(
        exit_code=code,
        number=mr.iid,
        request="merge request pipeline, with REVIEW=true in the job",
        comment=summary[-1] if summary else "",
        branch=None,
        pr_url=None,
        commits=[],
        diff="",
        review_comments=len(inline),
        log=log,
        inline=inline[0] if inline else "",
        tool_calls=tool_call_lines(log, workspace),
        change_url=change_url(SERVER, PROJECT_PATH, mr.iid, "gitlab"),
    )


def _payload(scenario: Scenario, item: Any, asked: Any) -> dict[str, Any]:
    """The recorded Note Hook, transformed the documented way: our project, item and note."""
    from importlib.resources import files

    name = "note_merge_request.json" if scenario.on_pull_request else "note_issue.json"
    payload: dict[str, Any] = json.loads(files("runner.testing").joinpath("data", name).read_text("utf-8"))
    payload["project"].update(id=PROJECT_ID, path_with_namespace=PROJECT_PATH, default_branch=BASE)
    payload["user"].update(username="root", name="Administrator")  # the same author in both recordings
    payload["object_attributes"].update(
        id=asked.id, note=REQUEST, action="create", system=False, discussion_id=asked.discussion_id, type=None
    )
    if scenario.on_pull_request:
        payload["merge_request"].update(
            iid=item.iid, title=scenario.title, description=scenario.body, source_branch=PR_BRANCH,
            target_branch=BASE, source_project_id=PROJECT_ID, target_project_id=PROJECT_ID, state="opened",
        )  # fmt: skip
    else:
        payload["issue"].update(
            iid=item.iid, title=scenario.title, description=scenario.body, confidential=False
        )
    return payload


def _job_env(
    root: Path, workspace: Path, api_base: str, model_url: str, inputs: dict[str, str]
) -> dict[str, str]:
    """The variables GitLab CI sets for the job, with the settings as job variables."""
    env = passed_environ()
    env.update(
        GITLAB_CI="true",
        CI_PROJECT_ID=str(PROJECT_ID),
        CI_PROJECT_PATH=PROJECT_PATH,
        CI_SERVER_URL=SERVER,
        CI_API_V4_URL=f"{api_base}/api/v4",
        CI_PROJECT_URL=f"{SERVER}/{PROJECT_PATH}",
        CI_PROJECT_DIR=str(workspace),
        CI_JOB_URL=f"{SERVER}/{PROJECT_PATH}/-/jobs/1",
        CI_JOB_ID="1",
        GITLAB_ACCESS_TOKEN=TOKEN,
        GIT_CONFIG_GLOBAL=str(root / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        ANTHROPIC_BASE_URL=model_url,
        ANTHROPIC_API_KEY=FAKE_KEY,
        CLAUDE_CONFIG_DIR=str(root / "claude-config"),  # the demo never runs your own hooks
        CLAUDE_RUNNER_RETRY_BASE_MS="10",
    )
    env.update({key.upper(): value for key, value in inputs.items()})  # GitLab: job variables
    return env


def _run(env: dict[str, str], event: Path | None) -> tuple[int, str]:
    from runner.ci.gitlab import run_gitlab_job
    from runner.errors import RunnerError
    from runner.settings.gitlab import read_gitlab_job

    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            code = run_gitlab_job(read_gitlab_job(env), event)
        except RunnerError as exc:
            print(f"error: {exc.one_line()}", file=log)
            code = exc.exit_code
    return code, log.getvalue()


def _dotenv(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.partition("=") for line in path.read_text("utf-8").splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}
