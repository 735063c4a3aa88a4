"""GitLab: `@claude /code-review:code-review` on a merge request with the `PLUGINS` and
`PLUGIN_MARKETPLACES` job variables loads the plugin and expands its command."""

from __future__ import annotations

from runner.testing.fake_messages import text
from tests.ci.test_gitlab_flow import world  # noqa: F401 - the fixture
from tests.plugin_fixtures import make_marketplace


def test_an_mr_mention_runs_a_plugin_command(world, tmp_path):  # noqa: F811
    marketplace, sha = make_marketplace(tmp_path / "markets")
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    world.model.add_turns([[text("## Code review\n\nNo issues found.")]])
    proc = world.run(
        world.note_payload("MergeRequest", 5, "@claude /code-review:code-review --comment"),
        PLUGINS="code-review@fixture",
        PLUGIN_MARKETPLACES=f"file://{marketplace}#{sha}",
        CLAUDE_RUNNER_PLUGIN_CACHE=str(tmp_path / "cache"),
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    prompt = world.model.message_requests[0].body["messages"][0]["content"][0]["text"]
    request = prompt.split("<request>\n", 1)[1].split("</request>", 1)[0]
    assert request.startswith("Provide a code review for the given pull request.")
    assert request.rstrip().endswith("ARGUMENTS: --comment")
    notes = [n for n in world.gitlab.note_list("merge_request", 5) if not n.system]
    assert len(notes) == 1 and "No issues found." in notes[0].body
