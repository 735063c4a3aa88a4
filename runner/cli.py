"""The ``claude-runner`` command: flag parsing only; the work happens in the modules it calls."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import __version__
from runner.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, RunnerError, UsageError
from runner.settings import variables
from runner.settings.run_flags import run_options

if TYPE_CHECKING:
    pass

# The demo's scenarios (runner.demo.scenarios.SCENARIOS), named here so `--help` needs no import of it.
DEMO_SCENARIOS = ("pr-comment", "issue", "gitlab-mr", "gitlab-issue", "review", "gitlab-review")
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT)
@click.version_option(__version__, prog_name="claude-runner")
def cli() -> None:
    """Run Claude as a headless agent in CI (GitHub Actions, GitLab CI) or in any git repository."""


@cli.command("run", context_settings=_CONTEXT)
@click.argument("prompt_arg", metavar="[PROMPT]", required=False)
@run_options
def run_command(
    prompt_arg: str | None,
    prompt: str | None,
    prompt_file: Path | None,
    **flags: Any,
) -> None:
    """Run one headless agent turn in a workspace, like `claude -p`."""
    import os

    from runner.agent.headless import run_headless
    from runner.settings.run import run_settings
    from runner.settings.runtime import read_runtime

    params = click.get_current_context().params
    settings = run_settings(_prompt_text(prompt_arg, prompt, prompt_file), params, os.environ)
    sys.exit(run_headless(settings, read_runtime(os.environ)))


@cli.command(
    "github",
    context_settings=_CONTEXT,
    epilog=variables.help_epilog(
        (
            variables.Variable(("INPUT_<NAME>",), "each input of action.yml (the action sets them)"),
            *variables.COMMON,
        ),
        variables.GITHUB_PREDEFINED,
    ),
)
def github_command() -> None:
    """Answer an @claude mention in a GitHub Actions job (reads the GITHUB_* and INPUT_* variables)."""
    import os

    from runner.ci.github import run_github
    from runner.settings.github import github_run_env, read_github_job

    # The job's variables first: with them known, a bad input still gets conclusion=failure.
    sys.exit(run_github(github_run_env(os.environ), lambda: read_github_job(os.environ)))


@cli.command("demo", context_settings=_CONTEXT)
@click.option(
    "--scenario",
    type=click.Choice(DEMO_SCENARIOS),
    default="pr-comment",
    show_default=True,
    help="Where the @claude mention is made.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON object with the outcome.")
def demo_command(scenario: str, as_json: bool) -> None:
    """Play an @claude mention end to end against local fakes: offline, no keys, a few seconds."""
    from runner.demo.report import run_demo

    sys.exit(run_demo(scenario, as_json=as_json, out=sys.stdout))


@cli.command("doctor", context_settings=_CONTEXT)
@click.option(
    "--provider",
    type=click.Choice(["anthropic", "bedrock", "vertex", "foundry"]),
    help="Check this provider. Default: $CLAUDE_RUNNER_PROVIDER or the CLAUDE_CODE_USE_* variables.",
)
@click.option("--model", help="The model the call uses. Default: $ANTHROPIC_MODEL or sonnet.")
@click.option("--no-call", is_flag=True, help="Stop after the credentials step: no model call is made.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds for the model call.")
@click.option("--json", "as_json", is_flag=True, help="Print the steps as one JSON object.")
def doctor_command(
    provider: str | None, model: str | None, no_call: bool, timeout: float, as_json: bool
) -> None:
    """Check the model provider end to end: settings, OIDC token, credentials, one tiny model call."""
    import os

    from runner.providers.doctor import run_doctor
    from runner.settings.runtime import read_doctor_runtime

    sys.exit(
        run_doctor(
            read_doctor_runtime(os.environ, provider=provider),
            sys.stdout,
            model=model,
            call_model=not no_call,
            as_json=as_json,
            timeout_s=timeout,
        )
    )


@cli.command(
    "gitlab",
    context_settings=_CONTEXT,
    epilog=variables.help_epilog((*variables.GITLAB_JOB, *variables.COMMON), variables.GITLAB_PREDEFINED),
)
@click.option(
    "--event-path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A GitLab hook payload; without it the AI_FLOW_* variables describe the mention.",
)
def gitlab_command(event_path: Path | None) -> None:
    """Answer an @claude mention in a GitLab CI job (reads the CI_* and AI_FLOW_* variables)."""
    import os

    from runner.ci.gitlab import run_gitlab
    from runner.settings.gitlab import read_gitlab_job, read_gitlab_run_env

    # The job's variables first: with them known, a bad variable still gets CLAUDE_CONCLUSION=failure.
    sys.exit(run_gitlab(read_gitlab_run_env(os.environ), lambda: read_gitlab_job(os.environ), event_path))


@cli.command("finalize", context_settings=_CONTEXT)
@click.option(
    "--platform",
    type=click.Choice(["github", "gitlab"]),
    help="The CI the job runs in. Default: from GITHUB_ACTIONS / GITLAB_CI.",
)
def finalize_command(platform: str | None) -> None:
    """Finish a run the job stopped: finalise its comment and outputs from the state file.

    Run it after the main step however that ended: an `if: always()` step (the action has one)
    or `after_script` (GitLab). A run that finished by itself leaves nothing to do (exit 0).
    """
    import os

    from runner.settings.finalize import finalize_platform

    if finalize_platform(os.environ, platform) == "gitlab":
        from runner.ci.gitlab import finalize_gitlab_job
        from runner.settings.gitlab import read_gitlab_finalize

        sys.exit(finalize_gitlab_job(read_gitlab_finalize(os.environ)))
    from runner.ci.github import finalize_github_job
    from runner.settings.github import read_github_finalize

    sys.exit(finalize_github_job(read_github_finalize(os.environ)))


# Platforms whose event payloads `explain` reads (runner/explain.py).
EXPLAIN_PLATFORMS = ("github", "gitlab")


@cli.command("explain", context_settings=_CONTEXT)
@click.option("--platform", type=click.Choice(EXPLAIN_PLATFORMS), default="github", show_default=True)
@click.option(
    "--event-name",
    help="GitHub (required): the event name, e.g. issue_comment ($GITHUB_EVENT_NAME). GitLab (optional, "
    'checked against the payload): the X-Gitlab-Event header, e.g. "Note Hook", or the object kind.',
)
@click.option(
    "--event-path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The webhook payload JSON file ($GITHUB_EVENT_PATH; a GitLab hook's request body).",
)
@click.option("--trigger-phrase", default="@claude", show_default=True, help="The mention that asks Claude.")
@click.option(
    "--label-trigger", default="claude", show_default=True, help='Label that triggers; "" disables.'
)
@click.option("--assignee-trigger", help="Assignee login that triggers (none by default).")
@click.option("--prompt", help="The automation prompt, as in the workflow's `prompt` input.")
@click.option("--allowed-bots", default="", help='Comma-separated bot logins allowed to trigger, or "*".')
@click.option("--review", is_flag=True, help="As the review input (REVIEW): review change requests.")
@click.option("--review-drafts", is_flag=True, help="As review_drafts (REVIEW_DRAFTS): drafts too.")
def explain_command(
    platform: str,
    event_name: str | None,
    event_path: Path,
    trigger_phrase: str,
    label_trigger: str,
    assignee_trigger: str | None,
    prompt: str | None,
    allowed_bots: str,
    review: bool,
    review_drafts: bool,
) -> None:
    """Print whether an event would trigger a run or a review, and why, as one JSON object (no network).

    For GitLab, `event` in the output is the payload's object_kind (note, merge_request, issue, ...).
    `review` says whether a review would run; what only the run can know (access, the review
    settings on the default branch, new commits) is listed in it. Long texts are cut.
    """
    from runner.explain import explain_event, load_event, render
    from runner.settings.flow import FlowSettings
    from runner.triggers import TriggerSettings, parse_allowed_bots

    if not trigger_phrase.strip():
        raise UsageError("--trigger-phrase is empty", 'pass a phrase such as "@claude"')
    trigger = TriggerSettings(
        trigger_phrase=trigger_phrase,
        label_trigger=label_trigger or None,
        assignee_trigger=assignee_trigger or None,
        prompt=prompt,
        allowed_bots=parse_allowed_bots(allowed_bots),
    )
    settings = FlowSettings(trigger=trigger, review=review, review_drafts=review_drafts)
    # The event name is GitLab's header for hooks (checked against the payload), GitHub's event name.
    event, unread = load_event(platform, event_name, event_path, trigger)
    click.echo(render(explain_event(event, settings, unread)), nl=False)


@cli.command("webhook", context_settings=_CONTEXT, epilog=variables.help_epilog(variables.LISTENER))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on."
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=32,
    show_default=True,
    help="HTTP handler threads (each accepted hook holds one until the store has it on disk).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Threads that check access and start pipelines after a hook is answered.",
)
@click.option(
    "--store",
    metavar="URL",
    help="Where accepted hooks are kept: a file path, sqlite:///path/hooks.db, or postgresql://... "
    "for replicas sharing one queue. Default: $WEBHOOK_STORE, else "
    "$XDG_STATE_HOME/claude-runner/webhook.sqlite3 (~/.local/state/...).",
)
def webhook_command(host: str, port: int, threads: int, workers: int, store: str | None) -> None:
    """Listen for GitLab hooks and start a `claude-runner gitlab` pipeline when @claude is asked.

    Health check: GET /healthz. The variables it reads are listed below.
    """
    import os

    from runner.settings.webhook import read_webhook_listener_settings
    from runner.webhook.server import run_webhook

    settings = read_webhook_listener_settings(os.environ, store=store)
    sys.exit(run_webhook(settings, host=host, port=port, threads=threads, workers=workers))


def _prompt_text(argument: str | None, option: str | None, path: Path | None) -> str:
    if argument == "-":  # `run -`: the prompt is on stdin, as the usual Unix convention says
        argument = _stdin_prompt()
    given = [v for v in (argument, option) if v is not None]
    if path is not None:
        given.append(path.read_text(encoding="utf-8"))
    if len(given) > 1:
        raise UsageError("give the prompt once: as an argument, with -p, or with --prompt-file")
    if given:
        return given[0]
    if not sys.stdin.isatty():
        return _stdin_prompt()
    raise UsageError("no prompt given", 'pass one with -p "...", as an argument, or on stdin')


def _stdin_prompt() -> str:
    data = sys.stdin.read(10 * 1024 * 1024 + 1)
    if len(data) > 10 * 1024 * 1024:
        raise UsageError("the prompt on stdin is over 10 MB")
    if not data.strip():
        raise UsageError("the prompt on stdin is empty", 'pipe a prompt in, or pass one with -p "..."')
    return data


def main() -> None:
    """Entry point: user mistakes print one line and exit with their code, never a traceback."""
    _fast_exit(_invoke())


def _invoke() -> int:
    try:
        cli.main(standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RunnerError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted — nothing more was done; run the command again to finish", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF.get((exc.name or "").split(".")[0])
        if extra is None:
            return _internal_error(exc)
        click.echo(f"error: {exc.name} is not installed — pip install 'claude-runner[{extra}]'", err=True)
        return UsageError.exit_code
    except Exception as exc:
        if type(exc).__name__ == "Interrupted":  # runner.agent.cancel's, raised by a signal handler
            click.echo(f"error: interrupted ({exc}) — nothing more was done; run the command again", err=True)
            return EXIT_INTERRUPTED
        return _internal_error(exc)
    return 0


# The optional packages and the extra that installs each.
_EXTRA_OF = {
    "boto3": "bedrock",
    "botocore": "bedrock",
    "google": "vertex",
    "requests": "vertex",
    "waitress": "webhook",
    "psycopg": "webhook-postgres",
}


def _internal_error(exc: Exception) -> int:
    """A bug: one line, never a traceback unless asked for."""
    import os

    if os.environ.get("CLAUDE_RUNNER_DEBUG"):
        import traceback

        traceback.print_exc()
    click.echo(
        f"error: internal error: {type(exc).__name__}: {exc} — this is a bug in claude-runner: "
        "please report it (CLAUDE_RUNNER_DEBUG=1 prints the traceback)",
        err=True,
    )
    return EXIT_INTERNAL


def _fast_exit(code: int) -> None:
    """Exit without interpreter teardown once the SDK is loaded.

    Tearing down the ~3,000 modules of the ``anthropic`` package takes about 0.2 s and
    does nothing for us: output is flushed and files are closed before this point.
    """
    if "anthropic" not in sys.modules:
        sys.exit(code)
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
