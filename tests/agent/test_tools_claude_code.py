"""Claude Code's other built-in tools, unit level: TodoWrite, NotebookEdit, background Bash and
its timeouts, WebFetch's address checks (against a loopback HTTP server)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.agent.netproxy import DomainRules
from runner.agent.tools.background import BackgroundShells, TaskOutput, TaskStop
from runner.agent.tools.base import ToolContext, ToolError
from runner.agent.tools.bash import Bash
from runner.agent.tools.notebook import NotebookEdit
from runner.agent.tools.todo import TodoWrite
from runner.agent.tools.web import WebAccess, WebFetch
from runner.errors import UsageError
from runner.flow.tracker import Tracker
from runner.sanitize import Redactor
from runner.settings.tools import read_tool_settings
from tests.agent.test_tools_bash import running
from tests.flow.test_tracker import Host


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    work = tmp_path / "work"
    work.mkdir()
    return ToolContext(
        cwd=work.resolve(), subprocess_env={"PATH": "/usr/bin:/bin"}, background=BackgroundShells()
    )


# --- TodoWrite -----------------------------------------------------------------------------------

TODOS = [
    {"content": "Read calc.py", "status": "completed", "activeForm": "Reading calc.py"},
    {"content": "Fix add()", "status": "in_progress", "activeForm": "Fixing add()"},
    {"content": "Run tests", "status": "pending", "activeForm": "Running tests"},
]


def test_todowrite_becomes_the_tracking_comments_checklist(ctx: ToolContext) -> None:
    host = Host()
    tracker = Tracker(host, 5, "https://ci.test/job", Redactor())  # type: ignore[arg-type]
    tracker.start()
    tracker.clock = lambda: 1e9  # never throttled
    tool = TodoWrite(tracker.progress)
    assert not tool.run({"todos": TODOS}, ctx).is_error
    body = host.bodies[1]
    assert "- [x] Read calc.py" in body and "- [ ] **Fixing add()**" in body and "- [ ] Run tests" in body


def test_todowrite_keeps_state_and_refuses_bad_items(ctx: ToolContext) -> None:
    tool = TodoWrite()
    tool.run({"todos": TODOS}, ctx)
    assert [t["status"] for t in tool.todos] == ["completed", "in_progress", "pending"]
    with pytest.raises(ToolError, match=r"todos\[0\].status must be one of"):
        tool.run({"todos": [{"content": "x", "status": "done", "activeForm": "x"}]}, ctx)
    assert len(tool.todos) == 3  # a refused call changes nothing


# --- NotebookEdit --------------------------------------------------------------------------------


def notebook(path: Path) -> Path:
    cells = [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Title"},
        {
            "cell_type": "code",
            "id": "calc",
            "metadata": {},
            "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
            "source": "print(2 - 1)",
        },
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def test_notebook_replace_clears_outputs_insert_and_delete(ctx: ToolContext) -> None:
    nb = notebook(ctx.cwd / "a.ipynb")
    edit = NotebookEdit()
    edit.run({"notebook_path": "a.ipynb", "cell_id": "calc", "new_source": "print(1 + 1)"}, ctx)
    assert cells(nb)[1]["source"] == "print(1 + 1)"
    assert cells(nb)[1]["outputs"] == [] and cells(nb)[1]["execution_count"] is None
    edit.run(
        {
            "notebook_path": str(nb),
            "cell_id": "intro",
            "new_source": "x = 1",
            "cell_type": "code",
            "edit_mode": "insert",
        },
        ctx,
    )
    assert [c["source"] for c in cells(nb)] == ["# Title", "x = 1", "print(1 + 1)"]
    assert cells(nb)[1]["id"] and cells(nb)[1]["outputs"] == []
    edit.run({"notebook_path": "a.ipynb", "cell_id": "cell-0", "new_source": "", "edit_mode": "delete"}, ctx)
    assert [c["source"] for c in cells(nb)] == ["x = 1", "print(1 + 1)"]


def test_read_shows_a_notebooks_cells_with_their_ids_and_outputs(ctx: ToolContext) -> None:
    from runner.agent.tools.files import Read

    notebook(ctx.cwd / "a.ipynb")
    shown = str(Read().run({"file_path": "a.ipynb"}, ctx).content)
    assert '<cell id="intro" type="markdown">\n# Title\n</cell>' in shown
    assert '<cell id="calc" type="code">\nprint(2 - 1)\n<output>\n1\n</output>\n</cell>' in shown
    (ctx.cwd / "broken.ipynb").write_text('{"cells": oops')
    assert "1\t{" in str(Read().run({"file_path": "broken.ipynb"}, ctx).content)  # as text, numbered


def test_notebook_edit_refuses_what_edit_refuses(ctx: ToolContext, tmp_path: Path) -> None:
    outside = notebook(tmp_path / "outside.ipynb")
    before = outside.read_text()
    with pytest.raises(ToolError):
        NotebookEdit().run({"notebook_path": str(outside), "cell_id": "calc", "new_source": "x"}, ctx)
    assert outside.read_text() == before
    (ctx.cwd / "link.ipynb").symlink_to(outside)
    with pytest.raises(ToolError):
        NotebookEdit().run({"notebook_path": "link.ipynb", "cell_id": "calc", "new_source": "x"}, ctx)
    assert outside.read_text() == before
    (ctx.cwd / "bad.ipynb").write_text("not json")
    with pytest.raises(ToolError, match="not a notebook"):
        NotebookEdit().run({"notebook_path": "bad.ipynb", "cell_id": "x", "new_source": "x"}, ctx)
    notebook(ctx.cwd / "b.ipynb")
    with pytest.raises(ToolError, match="no cell with id `nope`"):
        NotebookEdit().run({"notebook_path": "b.ipynb", "cell_id": "nope", "new_source": "x"}, ctx)


# --- background Bash -----------------------------------------------------------------------------


def test_background_command_output_and_stop(ctx: ToolContext) -> None:
    started = Bash().run({"command": "echo $$ > pid; echo hello; sleep 300", "run_in_background": True}, ctx)
    assert "bash_1" in str(started.content)
    out = TaskOutput().run({"task_id": "bash_1", "block": True, "timeout": 200, "filter": "hel+o"}, ctx)
    # Blocking waits at most the timeout; the command still runs.
    assert "running" in str(out.content)
    for _ in range(100):
        if "hello" in str(out.content):
            break
        out = TaskOutput().run({"bash_id": "bash_1"}, ctx)  # the old name's parameter, no wait
    pid = int((ctx.cwd / "pid").read_text())
    assert running(pid)
    stopped = TaskStop().run({"shell_id": "bash_1"}, ctx)
    assert "killed" in str(stopped.content)
    assert not running(pid)


def test_background_commands_end_with_the_run(ctx: ToolContext) -> None:
    Bash().run({"command": "echo $$ > pid1; exec sleep 300", "run_in_background": True}, ctx)
    Bash().run({"command": "(echo $BASHPID > pid2; exec sleep 300) & wait", "run_in_background": True}, ctx)
    for name in ("pid1", "pid2"):
        while not (ctx.cwd / name).exists() or not (ctx.cwd / name).read_text().strip():
            pass
    pids = [int((ctx.cwd / n).read_text()) for n in ("pid1", "pid2")]
    assert all(running(p) for p in pids)
    assert ctx.background is not None
    ctx.background.stop_all()
    assert not any(running(p) for p in pids)


def test_finished_background_command_reports_its_exit_code(ctx: ToolContext) -> None:
    Bash().run({"command": "echo done; exit 3", "run_in_background": True}, ctx)
    out = TaskOutput().run({"task_id": "bash_1", "block": True, "timeout": 60000}, ctx)
    assert "failed (exit code 3)" in str(out.content) and "done" in str(out.content)
    again = TaskOutput().run({"task_id": "bash_1"}, ctx)
    assert "(no new output)" in str(again.content)  # output is returned once
    with pytest.raises(ToolError, match="no background command with id `bash_9`"):
        TaskOutput().run({"task_id": "bash_9"}, ctx)


def test_without_a_registry_background_is_refused(tmp_path: Path) -> None:
    plain = ToolContext(cwd=tmp_path.resolve())
    with pytest.raises(ToolError, match="run_in_background is not available"):
        Bash().run({"command": "true", "run_in_background": True}, plain)


def test_bash_timeouts_from_the_environment(ctx: ToolContext) -> None:
    settings = read_tool_settings({"BASH_DEFAULT_TIMEOUT_MS": "300", "BASH_MAX_TIMEOUT_MS": "500"})
    assert (settings.bash_default_timeout_ms, settings.bash_max_timeout_ms) == (300, 500)
    limited = ToolContext(
        cwd=ctx.cwd, subprocess_env=ctx.subprocess_env, bash_default_timeout_ms=300, bash_max_timeout_ms=500
    )
    result = Bash().run({"command": "sleep 30"}, limited)
    assert result.is_error and "timed out after 300 ms" in str(result.content)
    result = Bash().run({"command": "sleep 30", "timeout": 600000}, limited)  # capped at the max
    assert "timed out after 500 ms" in str(result.content)
    with pytest.raises(UsageError, match="BASH_DEFAULT_TIMEOUT_MS must be a whole number"):
        read_tool_settings({"BASH_DEFAULT_TIMEOUT_MS": "2m"})


# --- WebFetch ------------------------------------------------------------------------------------

PAGE = b"""<html><head><title>t</title><script>var secret = 1;</script></head>
<body><h1>Release notes</h1><p>Version <b>2.0</b> adds <a href="/docs">docs</a>.</p>
<ul><li>one</li><li>two</li></ul></body></html>"""


@pytest.fixture
def site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/page")
                self.end_headers()
                return
            if self.path == "/away":
                self.send_response(301)
                self.send_header("Location", "https://elsewhere.example/x")
                self.end_headers()
                return
            if self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
                return
            body, kind = (
                (PAGE, "text/html; charset=utf-8") if self.path == "/page" else (b"\x89PNG", "image/png")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_webfetch_returns_markdown_and_follows_same_host_redirects(ctx: ToolContext, site: str) -> None:
    testing = ToolContext(cwd=ctx.cwd, web=WebAccess(allow_private=True))
    result = WebFetch().run({"url": f"{site}/moved", "prompt": "What is new?"}, testing)
    text = str(result.content)
    assert "# Release notes" in text and "Version **2.0** adds [docs](/docs)." in text
    assert "* one" in text or "- one" in text
    assert "secret" not in text and "What is new?" in text
    away = WebFetch().run({"url": f"{site}/away", "prompt": "x"}, testing)
    assert "https://elsewhere.example/x" in str(away.content) and "call WebFetch again" in str(away.content)
    with pytest.raises(ToolError, match="more than 10 redirects"):
        WebFetch().run({"url": f"{site}/loop", "prompt": "x"}, testing)
    with pytest.raises(ToolError, match="image/png"):
        WebFetch().run({"url": f"{site}/image", "prompt": "x"}, testing)


def test_webfetch_refuses_private_addresses_and_hosts_outside_the_sandbox(
    ctx: ToolContext, site: str
) -> None:
    for url in (
        f"{site}/page",
        site.replace("127.0.0.1", "localhost") + "/page",
        "http://169.254.169.254/x",
        site.replace("127.0.0.1", "[::ffff:127.0.0.1]") + "/page",
        "http://2130706433/",
    ):
        with pytest.raises(ToolError, match="private, loopback or reserved"):
            WebFetch().run({"url": url, "prompt": "x"}, ctx)  # http is upgraded, then the address refused
    sandboxed = ToolContext(cwd=ctx.cwd, web=WebAccess(DomainRules(("example.com",)), allow_private=True))
    with pytest.raises(ToolError, match="not in the sandbox's network allowedDomains"):
        WebFetch().run({"url": f"{site}/page", "prompt": "x"}, sandboxed)
    with pytest.raises(ToolError, match="http\\(s\\) URL"):
        WebFetch().run({"url": "file:///etc/passwd", "prompt": "x"}, ctx)


# --- WebSearch: where it is sent ---------------------------------------------------------------


def test_web_search_is_sent_only_where_the_provider_runs_it_and_a_rule_allows_it(tmp_path: Path) -> None:
    from runner.agent import permissions
    from runner.agent.toolset import server_tools

    def policy(**rules: tuple[str, ...]) -> permissions.PermissionPolicy:
        return permissions.build_policy(
            mode="default",
            allowed_tools=rules.get("allow", ()),
            disallowed_tools=rules.get("deny", ()),
            settings=[],
            cwd=tmp_path,
            add_dirs=(),
            home=tmp_path,
        )

    allowed = policy(allow=("WebSearch",))
    assert [t["type"] for t in server_tools(allowed, "anthropic")] == ["web_search_20250305"]
    assert server_tools(allowed, "vertex") and server_tools(allowed, "foundry")
    assert server_tools(allowed, "bedrock") == []
    assert server_tools(allowed, "vertex", "claude-3-5-sonnet-v2@20241022") == []
    assert server_tools(policy(), "anthropic") == []
    assert server_tools(policy(allow=("WebSearch",), deny=("WebSearch",)), "anthropic") == []
