"""The run's state file (``flow/state.py``): written whole and atomically, read back the same,
and refused when someone without the job's credential changed it."""

from __future__ import annotations

import json

import pytest

from runner.errors import SettingsError
from runner.flow.state import PHASES, RunRecord, RunState, StateFile
from runner.platforms.base import CommentRef


def state(**changes) -> RunState:
    values = dict(
        platform="gitlab",
        repo_url="https://gitlab.example/g/p",
        run_id="99",
        job_url="https://gitlab.example/g/p/-/jobs/99",
        requester="alice",
        number=5,
        comment=CommentRef(
            7, "https://gitlab.example/g/p/-/merge_requests/5#note_7", "issue", 5, "merge_request"
        ),
    )
    values.update(changes)
    return RunState(**values)


def test_a_state_round_trips_through_the_file(tmp_path):
    file = StateFile(tmp_path / "state.json", key="glpat-x")
    written = state(
        phase="publishing", branch="claude/x", links=[("View job", "https://j"), ("`claude/x`", "https://b")]
    )
    file.write(written)
    assert file.read() == written
    data = json.loads((tmp_path / "state.json").read_text())
    assert (
        data["version"] == 1
        and data["phase"] == "publishing"
        and data["comment"]["noteable"] == "merge_request"
    )
    assert data["links"][1] == ["`claude/x`", "https://b"] and len(data["mac"]) == 64
    assert (tmp_path / "state.json").stat().st_mode & 0o077 == 0  # the job's user only
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


def test_a_missing_file_is_no_state(tmp_path):
    assert StateFile(tmp_path / "none.json", key="k").read() is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(comment={**d["comment"], "id": 1}),  # another comment
        lambda d: d.update(phase="running"),
        lambda d: d.pop("mac"),
    ],
)
def test_a_file_changed_without_the_key_is_refused(tmp_path, change):
    path = tmp_path / "state.json"
    StateFile(path, key="glpat-x").write(state(phase="finalised"))
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SettingsError, match="HMAC does not match"):
        StateFile(path, key="glpat-x").read()


@pytest.mark.parametrize("text", ["{not json", "[]", '{"version": 2}', '{"version": 1, "phase": "dancing"}'])
def test_an_invalid_file_is_an_error_not_a_crash(tmp_path, text):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(SettingsError, match="is not valid"):
        StateFile(path).read()


def test_the_record_starts_clean_and_follows_the_phases(tmp_path):
    file = StateFile(tmp_path / "state.json", key="k")
    file.write(state(run_id="98", phase="running"))  # an earlier job's
    record = RunRecord(file, state(comment=None), lambda line: None)
    assert file.read() is None
    for phase in PHASES:
        record.phase(phase)
        read = file.read()
        assert read is not None and read.phase == phase
    with pytest.raises(ValueError):
        record.phase("dancing")


def test_a_record_that_cannot_write_warns_once_and_goes_on(tmp_path):
    lines: list[str] = []
    record = RunRecord(StateFile(tmp_path / "missing-dir" / "state.json"), state(), lines.append)
    record.phase("acknowledged")
    record.phase("running")
    assert record.state.phase == "running"
    warnings = [line for line in lines if not line.startswith("phase: ")]
    assert (
        len(warnings) == 1 and "could not write the state file" in warnings[0] and "finalize" in warnings[0]
    )
    # One line per phase in the job log, whether or not the file could be written.
    assert [line.split(" (")[0] for line in lines if line.startswith("phase: ")] == [
        "phase: acknowledged",
        "phase: running",
    ]
