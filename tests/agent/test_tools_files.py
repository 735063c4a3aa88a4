"""Read, Write, Edit, MultiEdit against real files in a temporary workspace."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
from pathlib import Path

import pytest

from runner.agent.tools import BUILTIN_TOOLS, build_tools
from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.files import MAX_IMAGE_BYTES, Edit, MultiEdit, Read, Write

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("not yours\n")
    return Path(os.path.realpath(root))


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(cwd=ws)


def read(ctx: ToolContext, **args: object) -> str:
    result = Read().run(args, ctx)
    assert not result.is_error and isinstance(result.content, str)
    return result.content


# --- Read -----------------------------------------------------------------------------------


def test_read_numbers_lines_like_cat_n(ws: Path, ctx: ToolContext) -> None:
    (ws / "a.py").write_text("def f():\n    return 1\n")
    assert read(ctx, file_path="a.py") == "1\tdef f():\n2\t    return 1"
    assert read(ctx, file_path=str(ws / "a.py")).startswith("1\tdef f():")


def test_read_offset_and_limit_with_a_note_to_continue(ws: Path, ctx: ToolContext) -> None:
    (ws / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    out = read(ctx, file_path="n.txt", offset=4, limit=2)
    assert out == "4\tline 4\n5\tline 5\n\n[showing lines 4-5 of 10; call Read with offset=6 to continue]"
    assert read(ctx, file_path="n.txt", offset=9) == "9\tline 9\n10\tline 10"
    assert read(ctx, file_path="n.txt", offset=50) == "The file has 10 lines; offset 50 is past the end."


def test_read_defaults_to_2000_lines_and_truncates_long_lines(ws: Path, ctx: ToolContext) -> None:
    (ws / "big.txt").write_text("x" * 2500 + "\n" + "".join(f"{i}\n" for i in range(2, 2600)))
    out = read(ctx, file_path="big.txt")
    lines = out.split("\n")
    assert lines[0] == "1\t" + "x" * 2000 + " [line truncated]"
    assert lines[1999] == "2000\t2000"
    assert lines[-1] == "[showing lines 1-2000 of 2599; call Read with offset=2001 to continue]"


def test_read_caps_total_output_size(ws: Path, ctx: ToolContext) -> None:
    (ws / "wide.txt").write_text(("y" * 1500 + "\n") * 1000)
    out = read(ctx, file_path="wide.txt")
    assert len(out.encode()) <= 256 * 1024 + 200
    assert out.endswith("to continue]") and "output reached 256 KiB" in out


def test_read_keeps_crlf_out_of_the_text_and_replaces_bad_utf8(ws: Path, ctx: ToolContext) -> None:
    (ws / "w.txt").write_bytes(b"caf\xe9\r\nok\r\n")
    assert read(ctx, file_path="w.txt") == "1\tcaf\ufffd\n2\tok"


def test_read_image_returns_an_image_block(ws: Path, ctx: ToolContext) -> None:
    (ws / "shot.png").write_bytes(PNG)
    result = Read().run({"file_path": "shot.png"}, ctx)
    assert result.content == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
        }
    ]


def test_read_image_type_comes_from_content_and_size_is_capped(ws: Path, ctx: ToolContext) -> None:
    (ws / "photo.png").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20)  # a JPEG with the wrong extension
    result = Read().run({"file_path": "photo.png"}, ctx)
    assert isinstance(result.content, list) and result.content[0]["source"]["media_type"] == "image/jpeg"
    (ws / "fake.jpg").write_text("not an image")
    with pytest.raises(ToolError, match=r"has a \.jpg name but its content is not that format"):
        Read().run({"file_path": "fake.jpg"}, ctx)
    (ws / "huge.gif").write_bytes(b"GIF89a" + b"\0" * MAX_IMAGE_BYTES)
    with pytest.raises(ToolError, match=r"huge.gif is [\d,]+ bytes; files of this type are limited"):
        Read().run({"file_path": "huge.gif"}, ctx)


def test_read_pdf_returns_a_document_block(ws: Path, ctx: ToolContext) -> None:
    (ws / "spec.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n")
    result = Read().run({"file_path": "spec.pdf"}, ctx)
    assert isinstance(result.content, list)
    assert result.content[0]["type"] == "document"
    assert result.content[0]["source"]["media_type"] == "application/pdf"


def test_read_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "dir").mkdir()
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (ws / "empty.txt").write_text("")
    with pytest.raises(ToolError, match=r"^File does not exist: nope\.txt$"):
        Read().run({"file_path": "nope.txt"}, ctx)
    with pytest.raises(ToolError, match="dir is a directory, not a file; use LS to list it"):
        Read().run({"file_path": "dir"}, ctx)
    with pytest.raises(ToolError, match=r"blob\.bin is a binary file"):
        Read().run({"file_path": "blob.bin"}, ctx)
    with pytest.raises(ToolError, match="outside the workspace"):
        Read().run({"file_path": "../outside.txt"}, ctx)
    assert read(ctx, file_path="empty.txt") == "empty.txt exists but is empty."


def test_read_refuses_a_fifo_instead_of_hanging(ws: Path, ctx: ToolContext) -> None:
    os.mkfifo(ws / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        Read().run({"file_path": "pipe"}, ctx)


# --- Write ----------------------------------------------------------------------------------


def test_write_creates_parents_and_overwrites(ws: Path, ctx: ToolContext) -> None:
    result = Write().run({"file_path": "pkg/sub/mod.py", "content": "a = 1\nb = 2\n"}, ctx)
    assert result.content == "Created pkg/sub/mod.py (2 lines, 12 bytes)."
    assert (ws / "pkg" / "sub" / "mod.py").read_text() == "a = 1\nb = 2\n"
    result = Write().run({"file_path": str(ws / "pkg/sub/mod.py"), "content": "c = 3"}, ctx)
    assert result.content == "Updated pkg/sub/mod.py (1 lines, 5 bytes)."
    assert (ws / "pkg" / "sub" / "mod.py").read_text() == "c = 3"
    assert sorted(p.name for p in (ws / "pkg" / "sub").iterdir()) == ["mod.py"]  # no temp files left


def test_write_keeps_an_existing_files_permissions(ws: Path, ctx: ToolContext) -> None:
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    read(ctx, file_path="run.sh")
    Write().run({"file_path": "run.sh", "content": "#!/bin/sh\necho hi\n"}, ctx)
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


def test_write_refusals(ws: Path, ctx: ToolContext, tmp_path: Path) -> None:
    (ws / ".git").mkdir()
    with pytest.raises(ToolError, match=r"refusing to write \.git/hooks/pre-commit: it is inside \.git"):
        Write().run({"file_path": ".git/hooks/pre-commit", "content": "evil"}, ctx)
    assert not (ws / ".git" / "hooks").exists()
    with pytest.raises(ToolError, match="outside the workspace"):
        Write().run({"file_path": str(tmp_path / "outside.txt"), "content": "overwritten"}, ctx)
    assert (tmp_path / "outside.txt").read_text() == "not yours\n"
    (ws / "d").mkdir()
    with pytest.raises(ToolError, match="d is a directory"):
        Write().run({"file_path": "d", "content": ""}, ctx)


# --- Edit -----------------------------------------------------------------------------------


def test_edit_replaces_a_unique_string_and_shows_the_region(ws: Path, ctx: ToolContext) -> None:
    (ws / "m.py").write_text("".join(f"line{i}\n" for i in range(1, 11)))
    read(ctx, file_path="m.py")
    result = Edit().run({"file_path": "m.py", "old_string": "line5\n", "new_string": "five\nFIVE\n"}, ctx)
    assert result.content == (
        "Edited m.py: replaced 1 occurrence.\n"
        "2\tline2\n3\tline3\n4\tline4\n5\tfive\n6\tFIVE\n"
        "7\tline6\n8\tline7\n9\tline8"
    )
    assert (ws / "m.py").read_text().splitlines()[3:7] == ["line4", "five", "FIVE", "line6"]


def test_edit_refuses_a_non_unique_string_unless_replace_all(ws: Path, ctx: ToolContext) -> None:
    (ws / "d.py").write_text("x = 1\ny = 1\nz = 1\n")
    read(ctx, file_path="d.py")
    with pytest.raises(ToolError) as err:
        Edit().run({"file_path": "d.py", "old_string": "= 1", "new_string": "= 2"}, ctx)
    assert "old_string matches 3 places" in str(err.value) and "replace_all" in str(err.value)
    assert (ws / "d.py").read_text() == "x = 1\ny = 1\nz = 1\n"
    result = Edit().run(
        {"file_path": "d.py", "old_string": "= 1", "new_string": "= 2", "replace_all": True}, ctx
    )
    assert str(result.content).startswith("Edited d.py: replaced 3 occurrences.")
    assert (ws / "d.py").read_text() == "x = 2\ny = 2\nz = 2\n"


def test_edit_errors(ws: Path, ctx: ToolContext) -> None:
    (ws / "e.py").write_text("alpha\n")
    read(ctx, file_path="e.py")
    with pytest.raises(ToolError, match="old_string was not found"):
        Edit().run({"file_path": "e.py", "old_string": "beta", "new_string": "gamma"}, ctx)
    with pytest.raises(ToolError, match="identical"):
        Edit().run({"file_path": "e.py", "old_string": "alpha", "new_string": "alpha"}, ctx)
    with pytest.raises(ToolError, match=r"File does not exist: missing\.py"):
        Edit().run({"file_path": "missing.py", "old_string": "a", "new_string": "b"}, ctx)
    with pytest.raises(ToolError, match="old_string is empty"):
        Edit().run({"file_path": "e.py", "old_string": "", "new_string": "b"}, ctx)
    assert (ws / "e.py").read_text() == "alpha\n"


def test_edit_with_empty_old_string_creates_a_file(ws: Path, ctx: ToolContext) -> None:
    result = Edit().run({"file_path": "new/n.txt", "old_string": "", "new_string": "hello\n"}, ctx)
    assert result.content == "Created new/n.txt (1 lines)."
    assert (ws / "new" / "n.txt").read_text() == "hello\n"


def test_edit_keeps_crlf_line_endings(ws: Path, ctx: ToolContext) -> None:
    (ws / "win.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    read(ctx, file_path="win.txt")
    Edit().run({"file_path": "win.txt", "old_string": "one\ntwo", "new_string": "1\n2\n2.5"}, ctx)
    assert (ws / "win.txt").read_bytes() == b"1\r\n2\r\n2.5\r\nthree\r\n"


def test_edit_round_trips_bytes_that_are_not_utf8(ws: Path, ctx: ToolContext) -> None:
    (ws / "latin.txt").write_bytes(b"caf\xe9 = 1\nname = 'x'\n")
    read(ctx, file_path="latin.txt")
    Edit().run({"file_path": "latin.txt", "old_string": "'x'", "new_string": "'y'"}, ctx)
    assert (ws / "latin.txt").read_bytes() == b"caf\xe9 = 1\nname = 'y'\n"


def test_edit_through_an_inside_symlink_changes_the_target(ws: Path, ctx: ToolContext) -> None:
    (ws / "real.txt").write_text("v1\n")
    (ws / "alias.txt").symlink_to(ws / "real.txt")
    read(ctx, file_path="alias.txt")
    Edit().run({"file_path": "alias.txt", "old_string": "v1", "new_string": "v2"}, ctx)
    assert (ws / "real.txt").read_text() == "v2\n"
    assert (ws / "alias.txt").is_symlink()


def test_edit_refuses_symlink_out_and_binary(ws: Path, ctx: ToolContext, tmp_path: Path) -> None:
    (ws / "out.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ToolError, match="outside the workspace"):
        Edit().run({"file_path": "out.txt", "old_string": "not", "new_string": "now"}, ctx)
    assert (tmp_path / "outside.txt").read_text() == "not yours\n"
    (ws / "b.bin").write_bytes(b"a\0b")
    with pytest.raises(ToolError, match="binary file"):
        Edit().run({"file_path": "b.bin", "old_string": "a", "new_string": "c"}, ctx)


def test_write_and_edit_refuse_an_existing_file_not_read_in_this_run(ws: Path, ctx: ToolContext) -> None:
    (ws / "keep.py").write_text("precious = 1\n")
    for tool, args in (
        (Write(), {"content": "overwritten\n"}),
        (Edit(), {"old_string": "precious", "new_string": "gone"}),
        (MultiEdit(), {"edits": [{"old_string": "precious", "new_string": "gone"}]}),
    ):
        with pytest.raises(
            ToolError, match=r"^File has not been read yet\. Read it first before writing to it\.$"
        ):
            tool.run({"file_path": "keep.py", **args}, ctx)
    assert (ws / "keep.py").read_text() == "precious = 1\n"
    # A partial Read counts; so does a file this run wrote: both can then be changed.
    read(ctx, file_path="keep.py", limit=1)
    Edit().run({"file_path": "keep.py", "old_string": "precious", "new_string": "kept"}, ctx)
    Write().run({"file_path": "new.py", "content": "a = 1\n"}, ctx)
    Write().run({"file_path": "new.py", "content": "a = 2\n"}, ctx)
    assert (ws / "keep.py").read_text() == "kept = 1\n" and (ws / "new.py").read_text() == "a = 2\n"


def test_the_read_ledger_is_per_run(ws: Path, ctx: ToolContext) -> None:
    (ws / "f.txt").write_text("one\n")
    read(ctx, file_path="f.txt")
    other_run = ToolContext(cwd=ws)
    with pytest.raises(ToolError, match="has not been read"):
        Edit().run({"file_path": "f.txt", "old_string": "one", "new_string": "two"}, other_run)
    # dataclasses.replace (the loop sets the deadline that way) keeps the run's ledger
    later = dataclasses.replace(ctx, deadline=1e12)
    Edit().run({"file_path": "f.txt", "old_string": "one", "new_string": "two"}, later)


# --- MultiEdit ------------------------------------------------------------------------------


def test_multiedit_applies_edits_in_sequence(ws: Path, ctx: ToolContext) -> None:
    (ws / "s.py").write_text("a = 1\nb = 2\n")
    read(ctx, file_path="s.py")
    edits = [
        {"old_string": "a = 1", "new_string": "a = 10"},
        {"old_string": "a = 10\nb", "new_string": "a = 10\nc"},  # sees the first edit's result
        {"old_string": "0", "new_string": "00", "replace_all": True},
    ]
    result = MultiEdit().run({"file_path": "s.py", "edits": edits}, ctx)
    assert result.content == "Edited s.py: applied 3 edits."
    assert (ws / "s.py").read_text() == "a = 100\nc = 2\n"


def test_multiedit_is_all_or_nothing(ws: Path, ctx: ToolContext) -> None:
    (ws / "s.py").write_text("a = 1\nb = 2\n")
    read(ctx, file_path="s.py")
    edits = [{"old_string": "a = 1", "new_string": "a = 9"}, {"old_string": "zzz", "new_string": "y"}]
    with pytest.raises(ToolError) as err:
        MultiEdit().run({"file_path": "s.py", "edits": edits}, ctx)
    assert str(err.value).startswith("edits[1] (edit 2 of 2) failed: old_string was not found")
    assert "the file is unchanged" in str(err.value)
    assert (ws / "s.py").read_text() == "a = 1\nb = 2\n"


def test_multiedit_can_create_a_file_and_validates_edits(ws: Path, ctx: ToolContext) -> None:
    edits = [{"old_string": "", "new_string": "x = 1\n"}, {"old_string": "1", "new_string": "2"}]
    MultiEdit().run({"file_path": "fresh.py", "edits": edits}, ctx)
    assert (ws / "fresh.py").read_text() == "x = 2\n"
    with pytest.raises(ToolError, match="non-empty array"):
        MultiEdit().run({"file_path": "fresh.py", "edits": []}, ctx)


# --- registry -------------------------------------------------------------------------------


def test_registry_names_order_and_flags() -> None:
    assert list(BUILTIN_TOOLS) == [
        "Read",
        "Write",
        "Edit",
        "MultiEdit",
        "NotebookEdit",
        "Glob",
        "Grep",
        "LS",
        "Bash",
        "TaskOutput",
        "TaskStop",
        "TodoWrite",
        "WebFetch",
    ]
    tools = build_tools()
    assert [t.name for t in tools] == list(BUILTIN_TOOLS)
    writers = {t.name for t in tools if not t.read_only}
    assert writers == {"Write", "Edit", "MultiEdit", "NotebookEdit", "Bash", "WebFetch"}
    assert {t.name for t in tools if t.edits_files} == {"Write", "Edit", "MultiEdit", "NotebookEdit"}
    assert [t.name for t in build_tools(["Grep", "Read", "Grep"])] == ["Grep", "Read"]
    with pytest.raises(ValueError, match="unknown tool\\(s\\): Task"):
        build_tools(["Read", "Task"])
    for tool in tools:
        definition = tool.definition()
        assert definition["input_schema"]["type"] == "object" and definition["description"]
