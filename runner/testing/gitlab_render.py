"""The fake GitLab's JSON: objects rendered in GitLab's REST shapes (stdlib only).

Merge request, diff, commit and branch bodies have exactly the keys of GitLab's recorded
responses (`tests/fixtures/gitlab/api/`, checked by `tests/test_fake_gitlab_shapes.py`); notes
follow GitLab's `notes.json` response schema, plus `position` on diff notes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.testing.gitlab_state import Commit, Discussion, Issue, MergeRequest, Note, Pipeline, User

if TYPE_CHECKING:
    from runner.testing.fake_gitlab import FakeGitLab

JSON = dict[str, Any]


def iso(ts: float | None) -> str | None:
    """GitLab's timestamps: ISO 8601 with milliseconds, in UTC."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


class Renderer:
    """Renders state objects with the fake's URLs."""

    def __init__(self, fake: FakeGitLab) -> None:
        self.fake, self.web = fake, fake.web_url

    @property
    def project_url(self) -> str:
        return f"{self.web}/{self.fake.path}"

    def user(self, user: User) -> JSON:
        return {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": user.state,
            "locked": user.state == "blocked",
            "avatar_url": f"{self.web}/uploads/-/system/user/avatar/{user.id}/avatar.png",
            "web_url": f"{self.web}/{user.username}",
        }

    def author(self, username: str) -> JSON:
        """The basic user object of notes and merge requests (no `locked`); GitLab's Ghost User for
        a deleted account."""
        data = self.user(self.fake.user("ghost" if username in self.fake.deleted_users else username))
        data.pop("locked")
        return data

    def member(self, user: User) -> JSON:
        return {
            **self.user(user),
            "access_level": user.access_level,
            "created_at": iso(self.fake.created_at),
            "created_by": None,
            "expires_at": None,
            "membership_state": "active",
        }

    def project(self) -> JSON:
        fake = self.fake
        namespace, _, name = fake.path.rpartition("/")
        return {
            "id": fake.project_id,
            "description": "",
            "name": name,
            "name_with_namespace": f"{namespace.replace('/', ' / ')} / {name}",
            "path": name,
            "path_with_namespace": fake.path,
            "created_at": iso(fake.created_at),
            "default_branch": fake.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{self.web.split('://', 1)[-1].split('/', 1)[0]}:{fake.path}.git",
            "http_url_to_repo": f"{self.project_url}.git",
            "web_url": self.project_url,
            "readme_url": None,
            "avatar_url": None,
            "forks_count": len(fake.forks),
            "star_count": 0,
            "last_activity_at": iso(fake.clock()),
            "namespace": {
                "id": fake.project_id - 1,
                "name": namespace.rsplit("/", 1)[-1],
                "path": namespace.rsplit("/", 1)[-1],
                "kind": "group",
                "full_path": namespace,
                "parent_id": None,
                "avatar_url": None,
                "web_url": f"{self.web}/groups/{namespace}",
            },
            "visibility": fake.visibility,
            "archived": False,
            "empty_repo": False,
        }

    def fork_project(self, project_id: int, path: str) -> JSON:
        data = self.project()
        name = path.rpartition("/")[2]
        data.update(id=project_id, path=name, name=name, path_with_namespace=path)
        data.update(web_url=f"{self.web}/{path}", http_url_to_repo=f"{self.web}/{path}.git")
        return data

    def pipeline(self, p: Pipeline, *, detail: bool = True) -> JSON:
        basic: JSON = {
            "id": p.id,
            "sha": p.sha,
            "ref": p.ref,
            "status": p.status,
            "web_url": f"{self.project_url}/-/pipelines/{p.id}",
            "created_at": iso(p.created_at),
            "updated_at": iso(p.finished_at or p.created_at),
        }
        if not detail:
            return basic
        duration = int(p.finished_at - p.started_at) if p.finished_at and p.started_at else None
        return {
            **basic,
            "before_sha": "0" * 40,
            "tag": False,
            "yaml_errors": None,
            "user": self.author(p.user),
            "started_at": iso(p.started_at),
            "finished_at": iso(p.finished_at),
            "committed_at": None,
            "duration": duration,
            "coverage": p.coverage,
            "detailed_status": {
                "icon": f"status_{p.status}",
                "text": p.status,
                "label": p.status,
                "group": p.status,
                "tooltip": p.status,
                "has_details": True,
                "details_path": f"/{self.fake.path}/-/pipelines/{p.id}",
                "illustration": None,
                "favicon": f"{self.web}/assets/ci_favicons/favicon_status_{p.status}.png",
            },
        }

    def created_pipeline(self, p: Pipeline) -> JSON:
        """`POST /projects/:id/pipeline`: the pipeline detail with its project, iid and source."""
        return {**self.pipeline(p), "iid": p.iid, "project_id": self.fake.project_id, "source": p.source}

    def listed_pipeline(self, p: Pipeline) -> JSON:
        """An item of `GET /projects/:id/pipelines`, with the keys of GitLab's documented example."""
        return {
            "id": p.id, "iid": p.iid, "project_id": self.fake.project_id, "status": p.status,
            "source": p.source, "ref": p.ref, "sha": p.sha, "name": None,
            "web_url": f"{self.project_url}/-/pipelines/{p.id}", "created_at": iso(p.created_at),
            "updated_at": iso(p.finished_at or p.created_at),
        }  # fmt: skip

    def merge_request(self, mr: MergeRequest, caller: str | None) -> JSON:
        fake = self.fake
        pipelines = [p for p in fake.pipelines if p.ref == mr.source_branch and p.sha == mr.head_sha]
        head = pipelines[-1] if pipelines else None
        notes = [n for n in fake.note_list("merge_request", mr.iid) if not n.system]
        caller_level = fake.user(caller).access_level or 0 if caller else 0
        milestone = None
        if mr.milestone:
            milestone = {
                "id": 693521, "iid": 1, "group_id": fake.project_id - 1, "title": mr.milestone,
                "description": "", "state": "active", "created_at": iso(fake.created_at),
                "updated_at": iso(fake.created_at),
                "due_date": (iso(fake.created_at + 60 * 86400) or "")[:10],
                "start_date": (iso(fake.created_at) or "")[:10],
                "web_url": f"{self.web}/groups/{fake.path.rpartition('/')[0]}/-/milestones/1",
            }  # fmt: skip
        assignees = [self.author(a) for a in mr.assignees]
        return {
            "id": mr.id, "iid": mr.iid, "project_id": mr.target_project_id,
            "title": ("Draft: " if mr.draft and not mr.title.startswith("Draft:") else "") + mr.title,
            "description": mr.description, "state": mr.state,
            "created_at": iso(mr.created_at), "updated_at": iso(mr.updated_at),
            "merged_by": None, "merged_at": None, "closed_by": None, "closed_at": None,
            "target_branch": mr.target_branch, "source_branch": mr.source_branch,
            "user_notes_count": len(notes), "upvotes": 0, "downvotes": 0,
            "assignee": assignees[0] if assignees else None, "author": self.author(mr.author),
            "assignees": assignees, "reviewers": [self.author(r) for r in mr.reviewers],
            "source_project_id": mr.source_project_id, "target_project_id": mr.target_project_id,
            "labels": list(mr.labels), "work_in_progress": mr.draft, "milestone": milestone,
            "merge_when_pipeline_succeeds": False, "detailed_merge_status": "mergeable",
            "merge_status": "can_be_merged", "sha": mr.head_sha, "merge_commit_sha": None,
            "discussion_locked": None, "should_remove_source_branch": None,
            "force_remove_source_branch": True, "reference": f"!{mr.iid}",
            "web_url": f"{self.project_url}/-/merge_requests/{mr.iid}",
            "time_stats": {
                "time_estimate": 0, "total_time_spent": 0,
                "human_time_estimate": None, "human_total_time_spent": None,
            },
            "squash": False, "task_completion_status": {"count": 0, "completed_count": 0},
            "subscribed": False, "changes_count": str(len(mr.diffs)),
            "latest_build_started_at": iso(head.started_at) if head else None,
            "latest_build_finished_at": iso(head.finished_at) if head else None,
            "first_deployed_to_production_at": None,
            "pipeline": self.pipeline(head, detail=False) if head else None,
            "head_pipeline": self.pipeline(head) if head else None,
            "diff_refs": {"base_sha": mr.base_sha, "head_sha": mr.head_sha, "start_sha": mr.start_sha},
            "merge_error": None, "user": {"can_merge": caller_level >= 30},
            "first_contribution": False, "approvals_before_merge": 0,  # a Premium field, in the recording
            "has_conflicts": False, "draft": mr.draft,
        }  # fmt: skip

    def issue(self, issue: Issue) -> JSON:
        return {
            "id": issue.id, "iid": issue.iid, "project_id": self.fake.project_id,
            "title": issue.title, "description": issue.description, "state": issue.state,
            "created_at": iso(issue.created_at), "updated_at": iso(issue.updated_at),
            "closed_at": None, "closed_by": None, "labels": list(issue.labels), "milestone": None,
            "assignees": [self.author(a) for a in issue.assignees],
            "author": self.author(issue.author), "type": "ISSUE", "issue_type": "issue",
            "assignee": self.author(issue.assignees[0]) if issue.assignees else None,
            "user_notes_count": len([n for n in self.fake.note_list("issue", issue.iid) if not n.system]),
            "upvotes": 0, "downvotes": 0, "due_date": None, "confidential": issue.confidential,
            "discussion_locked": None, "web_url": f"{self.project_url}/-/issues/{issue.iid}",
            "references": {"short": f"#{issue.iid}", "relative": f"#{issue.iid}",
                           "full": f"{self.fake.path}#{issue.iid}"},
        }  # fmt: skip

    def note(self, note: Note) -> JSON:
        owner: MergeRequest | Issue | None = (
            self.fake.merge_requests.get(note.iid)
            if note.noteable == "merge_request"
            else self.fake.issues.get(note.iid)
        )
        data: JSON = {
            "id": note.id, "type": note.type, "body": note.body, "attachment": None,
            "author": self.author(note.author), "created_at": iso(note.created_at),
            "updated_at": iso(note.updated_at), "system": note.system,
            "noteable_id": owner.id if owner else None,
            "noteable_type": "MergeRequest" if note.noteable == "merge_request" else "Issue",
            "noteable_iid": note.iid, "resolvable": note.resolvable,
            "confidential": note.internal, "internal": note.internal, "commands_changes": {},
        }  # fmt: skip
        if note.resolvable:
            by = self.author(note.resolved_by) if note.resolved_by else None
            data.update(
                resolved=note.resolved,
                resolved_by=by,
                resolved_at=iso(note.updated_at) if note.resolved else None,
            )
        if note.type == "DiffNote":
            data["position"] = note.position
        return data

    def discussion(self, discussion: Discussion) -> JSON:
        notes = [self.note(self.fake.notes[i]) for i in discussion.note_ids]
        return {"id": discussion.id, "individual_note": discussion.individual_note, "notes": notes}

    def commit_basic(self, c: Commit) -> JSON:
        return {
            "author_email": c.author_email, "author_name": c.author_name,
            "authored_date": iso(c.created_at), "committed_date": iso(c.created_at),
            "committer_email": c.author_email, "committer_name": c.author_name,
            "id": c.sha, "short_id": c.sha[:8], "title": c.title, "message": c.message,
            "parent_ids": list(c.parents),
        }  # fmt: skip

    def commit(self, c: Commit) -> JSON:
        pipelines = [p for p in self.fake.pipelines if p.sha == c.sha]
        last = pipelines[-1] if pipelines else None
        return {
            "id": c.sha, "short_id": c.sha[:11], "title": c.title,
            "author_name": c.author_name, "author_email": c.author_email,
            "committer_name": c.author_name, "committer_email": c.author_email,
            "message": c.message, "parent_ids": list(c.parents),
            "last_pipeline": self.pipeline(last, detail=False) if last else None,
            "stats": {"additions": 0, "deletions": 0, "total": 0},
            "status": last.status if last else None, "project_id": self.fake.project_id,
        }  # fmt: skip

    def branch(self, name: str, commit: Commit, caller_level: int) -> JSON:
        return {
            "name": name,
            "merged": False,
            "protected": name in self.fake.protected,
            "default": name == self.fake.default_branch,
            "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": caller_level >= (40 if name in self.fake.protected else 30),
            "commit": self.commit_basic(commit),
        }
