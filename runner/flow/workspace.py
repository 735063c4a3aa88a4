"""Which branch a run works on, and getting the checkout there.

``plan_workspace`` is pure (the rules); ``prepare`` and ``change_diff`` do the git calls.
The runner commits and pushes (``flow/rescue.py``), never the agent, and never to the default
branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from runner import git
from runner.events import Event
from runner.platforms.base import PushTarget, RepoInfo


@dataclass(frozen=True)
class WorkspacePlan:
    """Where the work goes."""

    branch: str | None  # the branch the agent's changes are pushed to; None: no push (fork)
    base: str  # what the branch starts from, and what diffs and PRs compare against
    new_branch: bool  # True: created for this run (issue, closed PR); False: the PR's own head branch
    can_push: bool
    reason: str  # said in logs: why this branch
    # A fork's change request: the agent works on the change's head (checked out detached) and
    # its edits are offered as suggestions on the diff instead of being pushed.
    suggest: bool = False


def plan_workspace(
    event: Event,
    repo: RepoInfo,
    *,
    now: datetime,
    branch_prefix: str = "claude/",
    branch_template: str | None = None,
    base_branch: str | None = None,
    confidential: bool = False,
) -> WorkspacePlan:
    """The branch rules: an open same-repository PR's head; a new branch otherwise; no push from forks.
    ``confidential``: a new branch's name says nothing of the issue (``{prefix}confidential-...``)."""
    cr = event.change_request
    noun = "merge request" if event.platform == "gitlab" else "pull request"
    if cr is not None and cr.is_fork:
        return WorkspacePlan(
            None,
            cr.base_ref or repo.default_branch,
            False,
            False,
            f"the {noun} comes from a fork: changes are offered as suggestions, not pushed",
            suggest=True,
        )
    if cr is not None and (cr.state or "open") == "open" and cr.head_ref:
        if cr.head_ref == repo.default_branch:
            return WorkspacePlan(
                None,
                repo.default_branch,
                False,
                False,
                f"the {noun}'s head is the default branch, which the runner never pushes to",
            )
        return WorkspacePlan(
            cr.head_ref,
            cr.base_ref or repo.default_branch,
            False,
            True,
            f"commits go to the {noun}'s branch {cr.head_ref}",
        )
    base = base_branch or repo.default_branch
    run_id = event.ci_run.run_id if event.ci_run else None
    if event.entity_type is None:  # an automation event: name the branch after the CI run
        entity, number = "run", int(run_id) if run_id and run_id.isdigit() else 0
    else:
        entity, number = ("pr" if event.entity_type == "change_request" else "issue"), event.number or 0
    if confidential:  # neither the title nor the number: branch names are seen more widely
        branch_template = "{{prefix}}confidential-{{timestamp}}" + ("-{{runId}}" if run_id else "")
    branch = git.render_branch_name(
        branch_template,
        prefix=branch_prefix,
        entity=entity,
        number=number,
        now=now,
        description=event.title,
        sha=cr.head_sha if cr else None,
        label=event.added_label,
        run_id=run_id,
    )
    return WorkspacePlan(branch, base, True, True, f"a new branch {branch} from {base}")


def prepare(plan: WorkspacePlan, cwd: Path, target: PushTarget, *, change_ref: str | None = None) -> str:
    """Check out the planned branch; returns the commit the agent starts from.

    ``change_ref``: for a plan that suggests (a fork), the full ref holding the change's head in
    the target repository (``Platform.change_head_ref``); it is fetched with the runner's token
    and checked out detached, so the agent edits the contributor's code, not the base branch.
    """
    git.strip_persisted_credentials(cwd)  # actions/checkout leaves the token in .git/config
    if plan.suggest and change_ref:
        local = git.fetch_ref(
            cwd, change_ref, remote_url=target.url, token=target.token, username=target.username
        )
        git.checkout_detached(cwd, local)
    if plan.branch and plan.can_push:
        base_ref = git.fetch(
            cwd, plan.base, remote_url=target.url, token=target.token, username=target.username
        )
        if plan.new_branch:
            git.checkout_new_branch(cwd, plan.branch, base_ref)
        else:
            git.checkout_existing_branch(
                cwd, plan.branch, remote_url=target.url, token=target.token, username=target.username
            )
    return git.head_sha(cwd)


def change_diff(
    plan: WorkspacePlan, cwd: Path, target: PushTarget, base: str, *, change_ref: str | None = None
) -> str:
    """The change request's own diff: HEAD against its merge base with the ``base`` branch.

    The checkout may be shallow (actions/checkout's ``fetch-depth: 1``) and the base may have
    moved on since the branch forked: history of the base and of the head (the pull request's
    branch, or a fork's ``change_ref``) is fetched in steps until the merge base is there.
    """
    url, token, username = target.url, target.token, target.username
    base_ref = git.fetch(cwd, base, remote_url=url, token=token, username=username)
    refs = [f"refs/heads/{base}"]
    if change_ref:
        refs.append(change_ref)
    elif plan.branch and not plan.new_branch:
        refs.append(f"refs/heads/{plan.branch}")
    git.find_merge_base(cwd, base_ref, refs=refs, remote_url=url, token=token, username=username)
    return git.merge_base_diff(cwd, base_ref)


def compare_url(
    server_repo_url: str, base: str, branch: str, *, title: str, body: str, platform: str = "github"
) -> str:
    """A "Create PR/MR" link: GitHub's compare view, or GitLab's new-merge-request form, filled in."""
    if platform == "gitlab":
        fields = {"source_branch": branch, "target_branch": base, "title": title, "description": body}
        query = "&".join(f"merge_request%5B{k}%5D={quote(v, safe='')}" for k, v in fields.items())
        return f"{server_repo_url}/-/merge_requests/new?{query}"
    return (
        f"{server_repo_url}/compare/{quote(base, safe='')}...{quote(branch, safe='')}"
        f"?quick_pull=1&title={quote(title, safe='')}&body={quote(body, safe='')}"
    )
