import pytest

from runner.errors import UsageError
from runner.settings.flow import flow_settings, provider_environ


def test_defaults_match_claude_code_action():
    s = flow_settings({})
    assert s.trigger.trigger_phrase == "@claude" and s.trigger.label_trigger == "claude"
    assert s.trigger.assignee_trigger is None and s.branch_prefix == "claude/" and s.pr_mode == "link"
    assert s.bot_name == "claude[bot]" and s.warnings == ()


def test_unimplemented_inputs_warn_by_name_only_when_set():
    s = flow_settings(
        {"INPUT_PLUGINS": "x@y", "INPUT_USE_COMMIT_SIGNING": "false", "INPUT_DISPLAY_REPORT": "true"}
    )
    assert len(s.warnings) == 1 and "plugins" in s.warnings[0]
    assert s.display_report is True and s.use_commit_signing is False


def test_inputs_this_runner_does_not_need_say_why_when_set():
    s = flow_settings(
        {"INPUT_PATH_TO_CLAUDE_CODE_EXECUTABLE": "/opt/claude", "INPUT_PATH_TO_BUN_EXECUTABLE": ""}
    )
    assert s.warnings == (
        "input path_to_claude_code_executable is not needed and has no effect: the agent runs inside "
        "claude-runner, not in a Claude Code binary",
    )
    s = flow_settings({"INPUT_PATH_TO_BUN_EXECUTABLE": "/usr/bin/bun"})
    assert s.warnings == (
        "input path_to_bun_executable is not needed and has no effect: claude-runner is a Python package; "
        "it runs no Bun",
    )


def test_sign_in_inputs_become_the_variables_the_provider_reads():
    s = flow_settings(
        {
            "INPUT_CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x",
            "INPUT_ANTHROPIC_FEDERATION_RULE_ID": "fdrl_1",
            "INPUT_ANTHROPIC_OIDC_AUDIENCE": "https://aud",
        }
    )
    assert s.warnings == () and s.oauth_token == "sk-ant-oat01-x"
    env = provider_environ(s, {"CLAUDE_CODE_OAUTH_TOKEN": "from-the-job"})
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == "sk-ant-oat01-x"
    assert env["ANTHROPIC_FEDERATION_RULE_ID"] == "fdrl_1" and env["ANTHROPIC_OIDC_AUDIENCE"] == "https://aud"


def test_action_inputs_win_over_job_variables():
    s = flow_settings(
        {"INPUT_TRIGGER_PHRASE": "/claude", "TRIGGER_PHRASE": "@bot", "INPUT_USE_BEDROCK": "true"}
    )
    assert s.trigger.trigger_phrase == "/claude"
    assert s.provider_flags == ("CLAUDE_CODE_USE_BEDROCK",)


def test_job_github_token_does_not_beat_a_github_app():
    env = {"GITHUB_TOKEN": "ghs_job", "INPUT_APP_ID": "1", "INPUT_APP_PRIVATE_KEY": "pem"}
    assert flow_settings(env).github_token is None
    assert flow_settings({"GITHUB_TOKEN": "ghs_job"}).github_token == "ghs_job"


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"INPUT_PR_MODE": "auto"}, "pr_mode"),
        ({"INPUT_USE_STICKY_COMMENT": "maybe"}, "use_sticky_comment"),
    ],
)
def test_bad_values_are_one_line_errors(env, needle):
    with pytest.raises(UsageError, match=needle):
        flow_settings(env)


@pytest.mark.parametrize(
    "value, level",
    [
        (None, "write"),
        ("developer", "write"),
        ("30", "write"),
        ("Maintainer", "maintain"),
        ("owner", "admin"),
        ("admin", "admin"),
    ],
)
def test_min_access_level_in_either_platforms_words(value, level):
    env = {"MIN_ACCESS_LEVEL": value} if value else {}
    assert flow_settings(env).required_permission == level


def test_authorize_honours_the_required_level():
    from runner.events import Actor, Event
    from runner.flow.mention import authorize

    class Host:
        def permission(self, login):
            return {"dev": "write", "lead": "maintain"}[login]

    settings = flow_settings({"MIN_ACCESS_LEVEL": "maintainer"})
    event = Event(
        platform="gitlab",
        name="note",
        action="create",
        kind="comment",
        activity="created",
        actor=Actor("dev"),
    )
    allowed, why = authorize(Host(), event, settings)  # type: ignore[arg-type]
    assert not allowed and "at least the Maintainer role" in why
    assert authorize(Host(), Event(**{**event.__dict__, "actor": Actor("lead")}), settings)[0]  # type: ignore[arg-type]


def test_comment_actor_filters_are_read_and_do_not_warn():
    s = flow_settings(
        {
            "INPUT_INCLUDE_COMMENTS_BY_ACTOR": "alice, *[bot]\nbob",
            "INPUT_EXCLUDE_COMMENTS_BY_ACTOR": "dependabot[bot]",
        }
    )
    assert s.include_comments_by_actor == ("alice", "*[bot]", "bob")
    assert s.exclude_comments_by_actor == ("dependabot[bot]",)
    assert s.warnings == ()
    assert flow_settings({}).include_comments_by_actor == ()


def test_the_effort_input_applies_unless_claude_args_says_otherwise():
    from runner.settings.flow import with_flow_effort
    from runner.settings.run_flags import parse_claude_args

    flow = flow_settings({"EFFORT": "Medium"})  # a GitLab job variable; INPUT_EFFORT in an action
    assert flow.effort == "medium"
    assert with_flow_effort(parse_claude_args("", {}), flow).effort == "medium"
    assert with_flow_effort(parse_claude_args("--effort max", {}), flow).effort == "max"
    assert flow_settings({"INPUT_EFFORT": "auto"}).effort is None
    with pytest.raises(UsageError, match="input effort must be one of low, medium, high, xhigh, max or auto"):
        flow_settings({"INPUT_EFFORT": "huge"})


def test_claude_args_take_the_model_flags():
    from runner.settings.run_flags import parse_claude_args

    agent = parse_claude_args(
        "--fallback-model haiku --max-output-tokens 2000", {"MAX_THINKING_TOKENS": "4096"}
    )
    assert (agent.fallback_model, agent.max_output_tokens, agent.max_thinking_tokens) == ("haiku", 2000, 4096)
    assert parse_claude_args("", {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "9000"}).max_output_tokens == 9000
    assert parse_claude_args("", {}).max_output_tokens is None  # the model's default
    with pytest.raises(UsageError, match="--max-output-tokens must be greater than 0"):
        parse_claude_args("--max-output-tokens 0", {})
