"""The fake GitLab's routes and handlers: each takes the fake and the routed request and returns
`(status, body)` (a list body is paginated by the fake) or raises `ApiError`."""

from __future__ import annotations

import hashlib
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.testing.gitlab_state import ApiError, Discussion, MergeRequest, Note, Pipeline

if TYPE_CHECKING:
    from runner.testing.fake_gitlab import FakeGitLab

__all__ = ["JOB_TOKEN_ROUTES", "ROUTES", "Request", "RequestRecord", "handler"]

P = r"/api/v4/projects/(?P<project>[^/]+)"
NOTEABLE = r"/(?P<noteable>merge_requests|issues)/(?P<iid>\d+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^{pattern}$"), name)
    for method, pattern, name in [
        ("GET", r"/api/v4/user", "get_current_user"),
        ("GET", r"/api/v4/users", "list_users"),
        ("GET", P, "get_project"),
        ("GET", P + r"/members/all", "list_members"),
        ("GET", P + r"/members/all/(?P<user_id>\d+)", "get_member"),
        ("GET", P + r"/merge_requests", "list_merge_requests"),
        ("POST", P + r"/merge_requests", "create_merge_request"),
        ("GET", P + r"/merge_requests/(?P<iid>\d+)", "get_merge_request"),
        ("GET", P + r"/merge_requests/(?P<iid>\d+)/versions", "list_versions"),
        ("GET", P + r"/merge_requests/(?P<iid>\d+)/diffs", "list_diffs"),
        ("GET", P + r"/issues/(?P<iid>\d+)", "get_issue"),
        ("GET", P + NOTEABLE + r"/notes", "list_notes"),
        ("POST", P + NOTEABLE + r"/notes", "create_note"),
        ("GET", P + NOTEABLE + r"/notes/(?P<note>\d+)", "get_note"),
        ("PUT", P + NOTEABLE + r"/notes/(?P<note>\d+)", "update_note"),
        ("GET", P + NOTEABLE + r"/discussions", "list_discussions"),
        ("POST", P + NOTEABLE + r"/discussions", "create_discussion"),
        ("GET", P + NOTEABLE + r"/discussions/(?P<discussion>[0-9a-f]+)", "get_discussion"),
        ("POST", P + NOTEABLE + r"/discussions/(?P<discussion>[0-9a-f]+)/notes", "reply_discussion"),
        ("GET", P + r"/repository/files/(?P<file>[^/]+)/raw", "get_file_raw"),
        ("GET", P + r"/repository/tree", "list_tree"),
        ("GET", P + r"/uploads/(?P<secret>[0-9a-f]+)/(?P<filename>[^/]+)", "get_upload"),
        ("GET", P + r"/repository/branches/(?P<branch>[^/]+)", "get_branch"),
        ("GET", P + r"/repository/commits/(?P<sha>[^/]+)", "get_commit"),
        ("POST", P + r"/repository/commits", "create_commit"),  # handlers: gitlab_commits.py
        ("POST", P + r"/repository/branches", "create_branch"),
        ("POST", P + r"/pipeline", "create_pipeline"),
        ("GET", P + r"/pipelines", "list_pipelines"),
        ("GET", P + r"/pipelines/(?P<pipeline>\d+)", "get_pipeline"),
        ("GET", P + r"/pipelines/(?P<pipeline>\d+)/variables", "list_pipeline_variables"),
    ]
]
# What a CI job token may call (GitLab's list is short: the project itself, packages, artifacts...).
JOB_TOKEN_ROUTES = {"get_project"}
WRITES_NEED = {
    "create_merge_request": 30,
    "create_pipeline": 30,
    "create_commit": 30,
    "create_branch": 30,
}  # access levels for writes


@dataclass
class RequestRecord:
    """One request the fake received and how it answered (`at`: `time.time()` on arrival)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = 0.0
    route: str = ""
    started: float = field(default_factory=time.monotonic)  # arrival and answer, monotonic: the
    ended: float = 0.0  # round trips a client made in sequence (``faults.round_trip_levels``)
    caller: str | None = None
    status: int = 0
    reply: Any = None


@dataclass
class Request:
    record: RequestRecord
    params: dict[str, str]
    caller: str = ""
    level: int = 0  # the caller's access level on the project
    job_token: bool = False
    data: dict[str, Any] = field(default_factory=dict)  # JSON body, or the query for GETs

    def arg(self, name: str, required: bool = True) -> Any:
        value = self.data.get(name, self.record.query.get(name))
        if required and (value is None or value == ""):
            raise ApiError(400, f"{name} is missing", key="error")
        return value


Reply = tuple[int, Any]
HANDLERS: dict[str, Callable[[FakeGitLab, Request], Reply]] = {}


def handler(fn: Callable[[FakeGitLab, Request], Reply]) -> Callable[[FakeGitLab, Request], Reply]:
    HANDLERS[fn.__name__.removeprefix("_")] = fn
    return fn


def _mr(fake: FakeGitLab, req: Request) -> MergeRequest:
    mr = fake.merge_requests.get(int(req.params["iid"]))
    if mr is None:
        raise ApiError(404, "404 Not found")
    return mr


def _noteable(fake: FakeGitLab, req: Request) -> tuple[str, int]:
    kind, iid = req.params["noteable"].removesuffix("s"), int(req.params["iid"])
    if kind == "merge_request":
        _mr(fake, req)
    else:
        _visible_issue(fake, req, iid)
    return kind, iid


def _visible_issue(fake: FakeGitLab, req: Request, iid: int) -> Any:
    issue = fake.issues.get(iid)
    # A confidential issue is visible to its author, assignees and members from Reporter up.
    hidden = (
        issue and issue.confidential and req.level < 20 and req.caller not in (issue.author, *issue.assignees)
    )
    if issue is None or hidden:
        raise ApiError(404, "404 Not found")
    return issue


@handler
def _get_current_user(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.user(fake.user(req.caller))


@handler
def _list_users(fake: FakeGitLab, req: Request) -> Reply:
    name = req.record.query.get("username")
    with fake.lock:
        users = [u for u in fake.users.values() if name is None or u.username.lower() == name.lower()]
    return 200, [fake.render.user(u) for u in users]


@handler
def _get_project(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.project()


@handler
def _get_member(fake: FakeGitLab, req: Request) -> Reply:
    user = next((u for u in fake.users.values() if u.id == int(req.params["user_id"])), None)
    if user is None or user.access_level is None:
        raise ApiError(404, "404 Not found")
    return 200, fake.render.member(user)


@handler
def _list_members(fake: FakeGitLab, req: Request) -> Reply:
    """`GET /projects/:id/members/all`, filtered by `user_ids[]` when given."""
    wanted = {int(i) for i in str(req.record.query.get("user_ids[]", "")).split(",") if i.strip().isdigit()}
    with fake.lock:
        members = [
            u for u in fake.users.values()
            if u.access_level is not None and (not wanted or u.id in wanted)
        ]  # fmt: skip
    return 200, [fake.render.member(u) for u in sorted(members, key=lambda u: u.id)]


@handler
def _list_merge_requests(fake: FakeGitLab, req: Request) -> Reply:
    query = req.record.query
    state, source = query.get("state", "all"), query.get("source_branch")
    found = [
        fake.render.merge_request(mr, req.caller)
        for mr in sorted(fake.merge_requests.values(), key=lambda m: -m.iid)
        if (state == "all" or mr.state == state) and (source is None or mr.source_branch == source)
    ]
    return 200, found


@handler
def _create_merge_request(fake: FakeGitLab, req: Request) -> Reply:
    source, target, title = req.arg("source_branch"), req.arg("target_branch"), req.arg("title")
    for branch, which in ((source, "Source"), (target, "Target")):
        if fake.branch_sha(branch) is None:
            raise ApiError(409, [f'{which} branch "{branch}" does not exist'])
    existing = next(
        (m for m in fake.merge_requests.values() if m.source_branch == source and m.target_branch == target
         and m.state == "opened" and m.source_project_id == fake.project_id),
        None,
    )  # fmt: skip
    if existing:
        raise ApiError(
            409, [f"Another open merge request already exists for this source branch: !{existing.iid}"]
        )
    draft = bool(req.data.get("draft")) or str(title).lower().startswith(("draft:", "[draft]", "(draft)"))
    title = re.sub(r"^(draft:|\[draft\]|\(draft\))\s*", "", str(title), flags=re.I)
    mr = fake.add_merge_request(
        title, description=str(req.data.get("description") or ""), author=req.caller,
        source_branch=source, target_branch=target, draft=draft,
        labels=[x for x in str(req.data.get("labels") or "").split(",") if x],
    )  # fmt: skip
    fake.merge_requests_created.append(mr)
    return 201, fake.render.merge_request(mr, req.caller)


@handler
def _get_merge_request(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.merge_request(_mr(fake, req), req.caller)


@handler
def _list_versions(fake: FakeGitLab, req: Request) -> Reply:
    mr = _mr(fake, req)
    version = {
        "id": mr.id + 1, "head_commit_sha": mr.head_sha, "base_commit_sha": mr.base_sha,
        "start_commit_sha": mr.start_sha, "created_at": fake.render_iso(mr.updated_at),
        "merge_request_id": mr.id, "state": "collected", "real_size": str(len(mr.diffs)),
        "patch_id_sha": None,
    }  # fmt: skip
    return 200, [version]


@handler
def _list_diffs(fake: FakeGitLab, req: Request) -> Reply:
    return 200, [dict(d) for d in _mr(fake, req).diffs]


@handler
def _get_issue(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.issue(_visible_issue(fake, req, int(req.params["iid"])))


@handler
def _list_notes(fake: FakeGitLab, req: Request) -> Reply:
    kind, iid = _noteable(fake, req)
    order = req.record.query.get("order_by", "created_at")
    notes = sorted(fake.note_list(kind, iid), key=lambda n: (getattr(n, order, n.created_at), n.id))
    if req.record.query.get("sort", "desc") == "desc":
        notes.reverse()
    return 200, [fake.render.note(n) for n in notes]


@handler
def _create_note(fake: FakeGitLab, req: Request) -> Reply:
    kind, iid = _noteable(fake, req)
    note = fake.add_note(kind, iid, str(req.arg("body")), author=req.caller)
    return 201, fake.render.note(note)


def _note(fake: FakeGitLab, req: Request) -> Note:
    kind, iid = _noteable(fake, req)
    note = fake.notes.get(int(req.params["note"]))
    if note is None or note.noteable != kind or note.iid != iid:
        raise ApiError(404, "404 Note Not Found")
    return note


@handler
def _get_note(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.note(_note(fake, req))


@handler
def _update_note(fake: FakeGitLab, req: Request) -> Reply:
    note = _note(fake, req)
    if note.author != req.caller:
        raise ApiError(403, "403 Forbidden")
    with fake.lock:
        note.body, note.updated_at = str(req.arg("body")), fake.clock()
    return 200, fake.render.note(note)


@handler
def _list_discussions(fake: FakeGitLab, req: Request) -> Reply:
    kind, iid = _noteable(fake, req)
    return 200, [fake.render.discussion(d) for d in fake.discussion_list(kind, iid)]


@handler
def _create_discussion(fake: FakeGitLab, req: Request) -> Reply:
    kind, iid = _noteable(fake, req)
    position = req.data.get("position")
    if position is not None:
        if kind != "merge_request" or not isinstance(position, dict):
            raise ApiError(400, "position is invalid", key="error")
        _check_position(_mr(fake, req), position)
    note = fake.add_note(
        kind, iid, str(req.arg("body")), author=req.caller, position=position, discussion_id=None
    )
    if position is None:  # a new thread, not a plain note
        with fake.lock:
            discussion = fake.discussions[note.discussion_id]
            discussion.individual_note = False
            note.type, note.resolvable = "DiscussionNote", kind == "merge_request"
    return 201, fake.render.discussion(fake.discussions[note.discussion_id])


def _discussion(fake: FakeGitLab, req: Request) -> Discussion:
    kind, iid = _noteable(fake, req)
    discussion = fake.discussions.get(req.params["discussion"])
    if discussion is None or discussion.noteable != kind or discussion.iid != iid:
        raise ApiError(404, "404 Discussion Not Found")
    return discussion


@handler
def _get_discussion(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.discussion(_discussion(fake, req))


@handler
def _reply_discussion(fake: FakeGitLab, req: Request) -> Reply:
    discussion = _discussion(fake, req)
    kind, iid = discussion.noteable, discussion.iid
    note = fake.add_note(kind, iid, str(req.arg("body")), author=req.caller, discussion_id=discussion.id)
    return 201, fake.render.note(note)


def _check_position(mr: MergeRequest, position: dict[str, Any]) -> None:
    """GitLab refuses a diff note whose shas are not the MR's or whose line is not in the diff."""
    if position.get("position_type", "text") != "text":
        raise ApiError(400, "400 Bad request - only text positions are faked")
    for key, sha in (("base_sha", mr.base_sha), ("start_sha", mr.start_sha), ("head_sha", mr.head_sha)):
        if position.get(key) != sha:
            raise ApiError(
                400, f'400 Bad request - Note {{:position=>["{key} is not the merge request\'s"]}}'
            )
    entry = next((d for d in mr.diffs if d["new_path"] == position.get("new_path")), None)
    if entry is None or not _line_in_diff(entry["diff"], position.get("new_line"), position.get("old_line")):
        raise ApiError(
            400, '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}'
        )


def _line_in_diff(diff: str, new_line: Any, old_line: Any) -> bool:
    old = new = 0
    for line in diff.splitlines():
        header = re.match(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if header:
            old, new = int(header.group(1)), int(header.group(2))
            continue
        kind = line[:1]
        if kind in (" ", "+") and new_line is not None and new == int(new_line):
            return True
        if kind in (" ", "-") and new_line is None and old_line is not None and old == int(old_line):
            return True
        old += kind in (" ", "-")
        new += kind in (" ", "+")
    return False


@handler
def _get_file_raw(fake: FakeGitLab, req: Request) -> Reply:
    path = urllib.parse.unquote(req.params["file"])
    content = fake.file(path, str(req.arg("ref")))
    if content is None:
        raise ApiError(404, "404 File Not Found")
    return 200, content


@handler
def _list_tree(fake: FakeGitLab, req: Request) -> Reply:
    """The files under `path` at `ref` (blobs only: what `recursive=true` lists, less the folders)."""
    folder = str(req.arg("path", required=False) or "")
    ref = str(req.arg("ref", required=False) or fake.default_branch)
    paths = fake.files_under(folder, ref)
    if not paths:
        raise ApiError(404, "404 Tree Not Found")
    return 200, [
        {
            "id": hashlib.sha1(p.encode()).hexdigest(),
            "name": p.rsplit("/", 1)[-1],
            "type": "blob",
            "path": p,
            "mode": "100644",
        }
        for p in paths
    ]


@handler
def _get_upload(fake: FakeGitLab, req: Request) -> Reply:
    key = (req.params["secret"], urllib.parse.unquote(req.params["filename"]))
    if key not in fake.uploads:
        raise ApiError(404, "404 Not found")
    return 200, fake.uploads[key]


@handler
def _get_branch(fake: FakeGitLab, req: Request) -> Reply:
    name = urllib.parse.unquote(req.params["branch"])
    sha = fake.branch_sha(name)
    if sha is None:
        raise ApiError(404, "404 Branch Not Found")
    return 200, fake.render.branch(name, fake.commit(sha), req.level)


@handler
def _get_commit(fake: FakeGitLab, req: Request) -> Reply:
    ref = urllib.parse.unquote(req.params["sha"])
    sha = ref if ref in fake.commits else fake.branch_sha(ref)
    if sha is None:
        raise ApiError(404, "404 Commit Not Found")
    return 200, fake.render.commit(fake.commit(sha))


@handler
def _create_pipeline(fake: FakeGitLab, req: Request) -> Reply:
    ref = str(req.arg("ref"))
    if fake.branch_sha(ref) is None:
        raise ApiError(400, {"base": ["Reference not found"]})
    variables = req.data.get("variables") or []
    if not isinstance(variables, list) or not all(isinstance(v, dict) and "key" in v for v in variables):
        raise ApiError(400, "variables is invalid", key="error")
    cleaned = [{"key": str(v["key"]), "value": str(v.get("value", "")),
                "variable_type": v.get("variable_type", "env_var")} for v in variables]  # fmt: skip
    pipeline = fake.add_pipeline(ref, user=req.caller, variables=cleaned)
    return 201, fake.render.created_pipeline(pipeline)


# `GET /projects/:id/pipelines` filters (GitLab's documented ones the fake applies).
_PIPELINE_ORDER = {"id", "status", "ref", "updated_at", "user_id"}


@handler
def _list_pipelines(fake: FakeGitLab, req: Request) -> Reply:
    query = req.record.query
    order_by, sort = query.get("order_by", "id"), query.get("sort", "desc")
    if order_by not in _PIPELINE_ORDER:
        raise ApiError(400, "order_by does not have a valid value", key="error")
    if sort not in ("asc", "desc"):
        raise ApiError(400, "sort does not have a valid value", key="error")
    after, before = _time_arg(query, "updated_after"), _time_arg(query, "updated_before")
    with fake.lock:
        pipelines = list(fake.pipelines)
    exact = {"ref": "ref", "sha": "sha", "status": "status", "source": "source", "username": "user"}
    for arg, attribute in exact.items():
        if arg in query:
            pipelines = [p for p in pipelines if getattr(p, attribute) == query[arg]]
    updated = {p.id: p.finished_at or p.created_at for p in pipelines}
    pipelines = [p for p in pipelines if (after is None or updated[p.id] > after)]
    pipelines = [p for p in pipelines if (before is None or updated[p.id] < before)]
    keys = {"updated_at": lambda p: (updated[p.id], p.id), "user_id": lambda p: (fake.user(p.user).id, p.id)}
    key = keys.get(order_by, lambda p: (getattr(p, order_by), p.id))
    pipelines.sort(key=key, reverse=sort == "desc")
    return 200, [fake.render.listed_pipeline(p) for p in pipelines]


def _time_arg(query: dict[str, str], name: str) -> float | None:
    """An ISO 8601 query argument (``2019-03-15T08:00:00Z``) as a timestamp."""
    from datetime import datetime

    if not query.get(name):
        return None
    try:
        return datetime.fromisoformat(query[name].replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(400, f"{name} is invalid", key="error") from None


def _pipeline(fake: FakeGitLab, req: Request) -> Pipeline:
    wanted = int(req.params["pipeline"])
    with fake.lock:
        found = next((p for p in fake.pipelines if p.id == wanted), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return found


@handler
def _get_pipeline(fake: FakeGitLab, req: Request) -> Reply:
    return 200, fake.render.created_pipeline(_pipeline(fake, req))


@handler
def _list_pipeline_variables(fake: FakeGitLab, req: Request) -> Reply:
    """As GitLab: the variables the pipeline was started with, for its own user or a maintainer."""
    pipeline = _pipeline(fake, req)
    if req.caller != pipeline.user and req.level < 40:
        raise ApiError(403, "403 Forbidden")
    return 200, [
        {"variable_type": v.get("variable_type", "env_var"), "key": v["key"], "value": v.get("value", ""),
         "raw": bool(v.get("raw", False))}
        for v in pipeline.variables
    ]  # fmt: skip
