"""The fake GitLab's response shapes against GitLab's own.

GitLab publishes JSON schemas for its API responses in its repository
(`spec/fixtures/api/schemas/public_api/v4/*.json`), but not as a package on npm or PyPI, and tests
have no network: the schema files could not be fetched here, and are not vendored. So:

- merge request, merge request diffs, commit and branch bodies are checked against REAL recorded
  responses (`tests/fixtures/gitlab/api/`, from go-gitlab's testdata, Apache-2.0): the fake's
  body must have exactly the recording's keys, recursively, with the same JSON types (where the
  recording has null, any value passes);
- a diff note's `position` is checked the same way against the position of a recorded draft note;
- notes are checked against the constraints of GitLab's `notes.json` schema (required keys,
  allowed keys, types), transcribed below from the gitlabhq repository (commit 0c872e02) as read
  through a stored copy of it.
"""

from __future__ import annotations

import json
from typing import Any

import gitlab
import pytest

from runner.testing.fake_gitlab import FakeGitLab
from tests.paths import FIXTURES_DIR

RECORDINGS = FIXTURES_DIR / "gitlab" / "api"
TOKEN = "glpat-shapes"
DIFF = "@@ -1,2 +1,2 @@\n-old\n+new\n same\n"

# notes.json (public_api/v4): property -> allowed JSON types; "additionalProperties": false.
NOTE_PROPERTIES = {
    "id": ("integer",), "type": ("string", "null"), "body": ("string",), "attachment": ("string", "null"),
    "author": ("object",), "commands_changes": ("object",), "created_at": ("string",),
    "updated_at": ("string",), "system": ("boolean",), "noteable_id": ("integer",),
    "noteable_iid": ("integer",), "noteable_type": ("string",), "resolved": ("boolean",),
    "resolvable": ("boolean",), "resolved_by": ("string", "null"), "resolved_at": ("string", "null"),
    "confidential": ("boolean", "null"), "internal": ("boolean", "null"),
}  # fmt: skip
NOTE_REQUIRED = {"id", "body", "attachment", "author", "created_at", "updated_at", "system", "noteable_id"}
NOTE_REQUIRED |= {"noteable_type"}
AUTHOR_REQUIRED = {"id", "name", "username", "state", "avatar_url", "web_url"}


def recording(name: str) -> Any:
    return json.loads((RECORDINGS / f"api_{name}.json").read_text())


def shape_errors(actual: Any, recorded: Any, where: str = "$") -> list[str]:
    """How `actual` differs in shape from `recorded` (empty: the same keys and types)."""
    if recorded is None:
        return []
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {type(actual).__name__}, recorded an object"]
        errors = [f"{where}.{k}: missing" for k in recorded.keys() - actual.keys()]
        errors += [f"{where}.{k}: not in the recording" for k in actual.keys() - recorded.keys()]
        for key in recorded.keys() & actual.keys():
            errors += shape_errors(actual[key], recorded[key], f"{where}.{key}")
        return errors
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return [f"{where}: {type(actual).__name__}, recorded an array"]
        return [
            e
            for i, item in enumerate(actual)
            if recorded
            for e in shape_errors(item, recorded[0], f"{where}[{i}]")
        ]
    if type(actual) is not type(recorded):  # bool is not int here
        return [f"{where}: {type(actual).__name__}, recorded {type(recorded).__name__}"]
    return []


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", str: "string", dict: "object", list: "array", float: "number"}[type(value)]


@pytest.fixture
def fake():
    with FakeGitLab("gitlab-org/gitlab-ee", tokens={TOKEN: "claude_bot"}) as fake:
        fake.add_user("alice", "developer")
        fake.add_user("tkuah", "maintainer")
        fake.add_commit("8e0b45049b6253b8984cde9241830d2851168142", "Add designs", branch="delete-designs",
                        parents=["dd692733bb84bc3e9e862e66c099daec2fa00c83"])  # fmt: skip
        fake.add_merge_request(
            "Add deletion support for designs", iid=14656, source_branch="delete-designs", author="alice",
            labels=["backend"], assignees=["tkuah"], reviewers=["tkuah"], milestone="12.2",
            diffs=[{"old_path": "README", "new_path": "README", "diff": DIFF}],
        )  # fmt: skip
        fake.add_pipeline("delete-designs", status="success", coverage="82.68")
        yield fake


def api(fake: FakeGitLab) -> gitlab.Gitlab:
    return gitlab.Gitlab(fake.base_url, private_token=TOKEN)


def test_shape_errors_catches_missing_extra_and_retyped_keys():
    recorded = {"a": 1, "b": {"c": "x"}, "d": None, "e": [{"f": True}]}
    assert shape_errors({"a": 2, "b": {"c": "y"}, "d": {"any": 1}, "e": [{"f": False}]}, recorded) == []
    errors = shape_errors({"a": True, "b": {}, "d": None, "e": [{"f": 1}], "z": 0}, recorded)
    assert sorted(errors) == ["$.a: bool, recorded int", "$.b.c: missing", "$.e[0].f: int, recorded bool",
                              "$.z: not in the recording"]  # fmt: skip


def test_merge_request_has_the_recorded_shape(fake):
    body = api(fake).http_get("/projects/gitlab-org%2Fgitlab-ee/merge_requests/14656")
    assert not (errors := shape_errors(body, recording("get_merge_request"))), errors


def test_merge_request_diffs_have_the_recorded_shape(fake):
    body = api(fake).http_get("/projects/gitlab-org%2Fgitlab-ee/merge_requests/14656/diffs")
    assert body and not (errors := shape_errors(body, recording("list_merge_request_diff"))), errors


def test_commit_has_the_recorded_shape(fake):
    body = api(fake).http_get("/projects/gitlab-org%2Fgitlab-ee/repository/commits/delete-designs")
    assert not (errors := shape_errors(body, recording("get_commit"))), errors


def test_branch_has_the_recorded_shape(fake):
    body = api(fake).http_get("/projects/gitlab-org%2Fgitlab-ee/repository/branches/delete-designs")
    assert not (errors := shape_errors(body, recording("get_branch"))), errors


def test_a_diff_note_position_has_the_recorded_shape(fake):
    mr = api(fake).projects.get("gitlab-org/gitlab-ee", lazy=True).mergerequests.get(14656)
    position = {
        "position_type": "text",
        **mr.diff_refs,
        "old_path": "README",
        "new_path": "README",
        "new_line": 1,
    }
    line_range = {"start": {"line_code": "x_0_1", "type": "new", "old_line": None, "new_line": 1}}
    line_range["end"] = line_range["start"]
    created = mr.discussions.create({"body": "hm", "position": {**position, "line_range": line_range}})
    recorded = recording("list_draft_notes")[1]["position"]
    assert not (errors := shape_errors(created.attributes["notes"][0]["position"], recorded)), errors


@pytest.mark.parametrize("resolvable", [False, True])
def test_notes_follow_gitlabs_notes_schema(fake, resolvable):
    project = api(fake).projects.get("gitlab-org/gitlab-ee", lazy=True)
    mr = project.mergerequests.get(14656, lazy=True)
    if resolvable:
        mr.discussions.create({"body": "a thread"})
    else:
        mr.notes.create({"body": "a note"})
    issue = fake.add_issue("An issue")
    project.issues.get(issue.iid, lazy=True).notes.create({"body": "on an issue"})
    path = "/projects/gitlab-org%2Fgitlab-ee"
    notes = [*api(fake).http_list(f"{path}/merge_requests/14656/notes", get_all=True)]
    notes += api(fake).http_list(f"{path}/issues/{issue.iid}/notes", get_all=True)
    for note in notes:
        assert NOTE_REQUIRED <= note.keys() <= NOTE_PROPERTIES.keys()
        for key, value in note.items():
            assert json_type(value) in NOTE_PROPERTIES[key], key
        assert note["author"].keys() >= AUTHOR_REQUIRED
        assert note["noteable_type"] in ("MergeRequest", "Issue")


# `GET /projects/:id/pipelines`: an item of the example response in GitLab's API documentation
# (doc/api/pipelines.md, "List project pipelines"); its "name" is "Build pipeline", null when the CI
# configuration sets no workflow:name, as in the fake.
DOCUMENTED_PIPELINE = {
    "id": 47, "iid": 12, "project_id": 1, "status": "pending", "source": "push", "ref": "new-pipeline",
    "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a", "name": None,
    "web_url": "https://example.com/foo/bar/pipelines/47", "created_at": "2016-08-11T11:28:34.085Z",
    "updated_at": "2016-08-11T11:32:35.169Z",
}  # fmt: skip
# `GET /projects/:id/pipelines/:pipeline_id/variables` (doc/api/pipelines.md, "Get variables of a pipeline").
DOCUMENTED_VARIABLE = {"key": "RUN_NIGHTLY_BUILD", "variable_type": "env_var", "value": "true", "raw": False}


def test_listed_pipelines_and_their_variables_have_the_documented_shape(fake):
    fake.pipelines[0].variables = [{"key": "A", "value": "1", "variable_type": "env_var"}]
    listed = api(fake).http_list("/projects/gitlab-org%2Fgitlab-ee/pipelines", get_all=True)
    assert listed and not (errors := shape_errors(listed, [DOCUMENTED_PIPELINE])), errors
    path = f"/projects/gitlab-org%2Fgitlab-ee/pipelines/{listed[0]['id']}/variables"
    variables = api(fake).http_list(path, get_all=True)
    assert variables and not (errors := shape_errors(variables, [DOCUMENTED_VARIABLE])), errors
