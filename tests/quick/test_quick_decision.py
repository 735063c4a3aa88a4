"""The quick acknowledgement (``runner/quick/``) decides from the raw payload and a few inputs what
the full run decides from its settings, its events and its triggers. Whenever it would act, its
decision must be the full run's: the comment posted or not, on the same number, for the same
requester, whose permission is asked and what each answer means, and the same comment text byte for
byte. Checked over the corpus payloads with every string of the corpus as a comment, and over
generated combinations of payloads and inputs; and that it does act on the common mentions (else
the checks would prove nothing).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from runner.ci.github import github_job
from runner.errors import UsageError
from runner.events import NotSupported
from runner.events.github import parse_github_event
from runner.flow.ack import new_tracker
from runner.flow.admit import authorize, permission_needed
from runner.platforms.refs import PERMISSION_ORDER, CommentRef
from runner.quick import decide as quick
from runner.quick.comment import first_working_body, may_need_redaction
from runner.review.trigger import review_trigger
from runner.sanitize import TOKEN_PATTERNS, Redactor
from runner.settings.ack import read_ack_settings
from runner.settings.api import read_api_settings
from runner.settings.flow import flow_settings
from runner.settings.github import github_run_env
from runner.settings.quick_ack import QuickInputs, read_quick_inputs
from runner.triggers import decide
from tests.paths import FIXTURES_DIR

WEBHOOKS = FIXTURES_DIR / "github" / "webhooks"
TOKEN = "ghs_quickInstallationToken0123456789"
EVENTS = ("issue_comment", "issues", "pull_request", "pull_request_review", "pull_request_review_comment")
LEVELS = (*PERMISSION_ORDER, "bogus")


class Answers:
    """A host that answers every permission request with ``level``."""

    def __init__(self, level: str) -> None:
        self.level = level

    def permission(self, login: str) -> str:
        return self.level


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _payloads() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.parent.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(WEBHOOKS.rglob("*.json"))
    ]


def _texts() -> list[str]:
    found: set[str] = set()
    for _, payload in _payloads():
        for text in _strings(payload):
            found.update((text, f"@claude {text}", f"{text}\n\n@claude please"))
    return sorted(found)


CRAFTED = [
    "@claude explain this change",
    "@claude",
    "@Claude fix it",
    "fix the typo @claude",
    "@claude review",
    "@claude review the error handling",
    "@claude reviewer notes",
    "@claude, review this",
    "review @claude",
    "@claudette fix",
    "foo@claude.com fix",
    "@claude-bot fix",
    "@claude's idea",
    "@claude. Then stop",
    "x/@claude fix",
    "  @claude hi\n   there",
    "hello\n\n@claude please look",
    "`@claude` in code",
    "> @claude quoted",
    "please fix it",
    "",
]


def _env(tmp_path: Path, event_name: str, **inputs: str) -> dict[str, str]:
    env = {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "777",
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_GITHUB_TOKEN": TOKEN,
    }
    for name, value in inputs.items():
        if name.isupper():
            env[name] = value
        else:
            env[f"INPUT_{name.upper()}"] = value
    return env


def _plan(inputs: QuickInputs, payload: dict[str, Any]) -> quick.QuickPlan | None:
    return quick.plan_ack(
        inputs.event_name,
        payload,
        trigger_phrase=inputs.trigger_phrase,
        label_trigger=inputs.label_trigger,
        assignee_trigger=inputs.assignee_trigger,
        allowed_bots=inputs.allowed_bots,
        allowed_non_write_users=inputs.allowed_non_write_users,
    )


def check_agreement(env: dict[str, str], event_name: str, payload: dict[str, Any]) -> bool:
    """Assert the quick decision is the full run's wherever the quick path acts; whether it acts."""
    inputs = read_quick_inputs(env)
    try:
        settings = flow_settings(env)
        api = read_api_settings(env)
    except UsageError:
        # A bad value the quick reader reads is left to the full run, which refuses it as before.
        assert inputs is None or not {"min_access_level", "use_sticky_comment"} & _set_inputs(env)
        return False
    if inputs is None:
        return False
    # The inputs it read are the full run's.
    run_env = github_run_env(env)
    assert inputs.token == settings.github_token and read_ack_settings(env).small_client
    assert (inputs.api_url, inputs.server_url, inputs.repository) == (
        run_env.api_url,
        run_env.server_url,
        run_env.repository,
    )
    assert inputs.timeout_s == api.timeout_s and not settings.use_sticky_comment
    assert inputs.required_permission == settings.required_permission
    assert str(read_ack_settings(env).ca_bundle or "") == (inputs.ca_bundle or "")
    plan = _plan(inputs, payload)
    if plan is None:
        return False
    event = parse_github_event(event_name, payload)
    assert not isinstance(event, NotSupported)
    decision = decide(event, settings.trigger)
    assert decision.triggered and decision.mode == "tag", decision.reason
    assert review_trigger(event, decision, settings) is None
    assert event.actor is not None and event.number == plan.number and event.actor.login == plan.requester
    assert permission_needed(event, settings) == plan.ask
    job = github_job(run_env)
    assert (job.job_url, job.repo_url, str(run_env.state_path)) == (
        inputs.job_url,
        inputs.repo_url,
        inputs.state_path,
    )
    redactor = Redactor([v for v in (settings.github_token, settings.anthropic_api_key) if v])
    for level in LEVELS:
        allowed, _ = authorize(Answers(level), event, settings)
        assert allowed == (plan.ask is None or quick.permission_at_least(level, inputs.required_permission))
    tracker = new_tracker(event, decision, None, settings, job, redactor)  # type: ignore[arg-type]
    assert tracker is not None and not tracker.sticky and tracker.reply_to is None
    posted: list[str] = []
    tracker.start_with(lambda body: posted.append(body) or CommentRef(1, "u", "issue"))
    body = first_working_body(inputs.job_url, tracker.run_id)
    if not may_need_redaction(body, inputs.secrets):
        assert posted == [body]
    return True


def _set_inputs(env: dict[str, str]) -> set[str]:
    return {k.removeprefix("INPUT_").lower() for k, v in env.items() if k.startswith("INPUT_") and v.strip()}


def test_every_corpus_string_as_a_comment_is_decided_alike(tmp_path):
    data = json.loads((WEBHOOKS / "issue_comment" / "created.payload.json").read_text())
    data["issue"]["pull_request"] = {"url": "x"}
    acted = 0
    for text in [*_texts()[::3], *CRAFTED]:
        data["comment"]["body"] = text
        for phrase in ("@claude", "please", "the"):
            acted += check_agreement(
                _env(tmp_path, "issue_comment", trigger_phrase=phrase), "issue_comment", data
            )
    assert acted > 300  # plain-prose mentions are acknowledged quickly


def test_every_corpus_payload_is_decided_alike(tmp_path):
    acted = 0
    for event_name, payload in _payloads():
        for inputs in ({}, {"assignee_trigger": "@octocat"}, {"label_trigger": "bug"}, {"allowed_bots": "*"}):
            acted += check_agreement(_env(tmp_path, event_name, **inputs), event_name, payload)
    assert acted >= 4  # the mention, label and assignee payloads of the corpus


def _generated(rng: random.Random, by_event: dict[str, list[dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    event_name = rng.choice(EVENTS)
    payload = copy.deepcopy(rng.choice(by_event[event_name]))
    text = rng.choice([*CRAFTED, "@claude " + rng.choice(["do it", "review", "Review it", "x"])])
    for key in ("comment", "review"):
        if isinstance(payload.get(key), dict):
            payload[key]["body"] = rng.choice([text, None, 5]) if rng.random() < 0.1 else text
    for key in ("issue", "pull_request"):
        entity = payload.get(key)
        if isinstance(entity, dict) and rng.random() < 0.5:
            entity["body" if rng.random() < 0.5 else "title"] = text
        if isinstance(entity, dict) and rng.random() < 0.05:
            entity["number"] = rng.choice([None, "5", True, 0])
        if key == "issue" and isinstance(entity, dict) and rng.random() < 0.3:
            entity["pull_request"] = {"url": "x"}
    if rng.random() < 0.5:
        payload["label"] = {"name": rng.choice(["claude", "Claude ", "bug", " CLAUDE"])}
    if rng.random() < 0.5:
        payload["assignee"] = {"login": rng.choice(["octocat", "Octocat", "claude-bot", "x"])}
    sender = payload.get("sender")
    if isinstance(sender, dict):
        roll = rng.random()
        if roll < 0.15:
            sender.update(login="dependabot[bot]", type="Bot")
        elif roll < 0.25:
            sender.update(login="helper", type="Bot")
        elif roll < 0.3:
            payload.pop("sender")
        elif roll < 0.35:
            sender["login"] = ""
    if rng.random() < 0.1:
        payload["action"] = rng.choice(
            ["created", "submitted", "opened", "labeled", "assigned", "edited", None]
        )
    return event_name, payload


def _generated_inputs(rng: random.Random) -> dict[str, str]:
    choices = {
        "trigger_phrase": ["", "@claude", "/claude", "please", "@Claude"],
        "label_trigger": ["", "claude", "bug", " Claude"],
        "assignee_trigger": ["", "octocat", "@octocat", "@claude-bot"],
        "allowed_bots": ["", "*", "dependabot", "dependabot[bot], renovate", "helper[bot]"],
        "allowed_non_write_users": ["", "*", "Codertocat", "octocat,\nCodertocat"],
        "min_access_level": ["", "write", "Maintainer", "admin", "40", "bogus"],
        "use_sticky_comment": ["", "false", "true", "No", "maybe"],
        "review": ["", "true"],
        "prompt": ["", "do the thing"],
        "track_progress": ["", "true"],
        "anthropic_api_key": ["", "sk-ant-api03-abcdefgh"],
    }
    env = {name: rng.choice(values) for name, values in choices.items() if rng.random() < 0.6}
    roll = rng.random()
    if roll < 0.1:
        env["github_token"] = "ghp_personalToken0123456789"
    elif roll < 0.2:
        env.update(github_token="", app_id="123", app_private_key="-----BEGIN KEY-----", GITHUB_TOKEN=TOKEN)
    elif roll < 0.25:
        env.update(github_token="", GITHUB_TOKEN=TOKEN)
    elif roll < 0.3:
        env["HTTPS_PROXY"] = "http://proxy:3128"
    elif roll < 0.35:
        env["CLAUDE_RUNNER_FAST_ACK"] = "0"
    elif roll < 0.4:
        env["CLAUDE_RUNNER_API_TIMEOUT_S"] = rng.choice(["5", "0.5", "x", "-1"])
    elif roll < 0.45:
        env["TRIGGER_PHRASE"] = "please"  # a bare variable, as a GitLab-style job sets it
    return env


def test_generated_payloads_and_inputs_are_decided_alike(tmp_path):
    rng = random.Random(20261205)
    by_event = {name: [p for n, p in _payloads() if n == name] for name in EVENTS}
    acted = 0
    for _ in range(2500):
        event_name, payload = _generated(rng, by_event)
        env = _env(tmp_path, event_name, **_generated_inputs(rng))
        acted += check_agreement(env, event_name, payload)
    assert acted > 50


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"INPUT_USE_STICKY_COMMENT": "true"}, "a sticky comment reads the thread first"),
        ({"INPUT_GITHUB_TOKEN": "ghp_personal0123456789"}, "a personal token's comments are sealed"),
        ({"INPUT_GITHUB_TOKEN": "", "INPUT_APP_ID": "1", "INPUT_APP_PRIVATE_KEY": "k"}, "an App's token"),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "only the SDK's transport follows a proxy"),
        ({"CLAUDE_RUNNER_FAST_ACK": "off"}, "turned off"),
        ({"INPUT_MIN_ACCESS_LEVEL": "boss"}, "the full run's error"),
        ({"GITHUB_EVENT_PATH": ""}, "not an Actions job"),
    ],
)
def test_what_the_quick_reader_does_not_fully_understand_is_left_to_the_full_run(tmp_path, env, why):
    assert read_quick_inputs({**_env(tmp_path, "issue_comment"), **env}) is None, why


def test_every_token_format_the_redactor_knows_keeps_the_body_from_the_quick_path():
    samples = [
        "sk-ant-api03-abcdefghij",
        "ghs_abcdefghijklmnopqrstuvwxyz",
        "github_pat_abcdefghijklmnopqrstuvwxyz",
        "glpat-abcdefghijklmnopqrstuvwxyz",
        "glrt-abcdefghijklmnopqrstuvwxyz",
        "AKIAABCDEFGHIJKLMNOP",
        "ya29.abcdefghijklmnopqrstuvwxyz",
        "eyJabcdefghijkl.abcdefghijklm.abcdefghijklm",
        "-----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY-----",
    ]
    assert len(samples) == len(TOKEN_PATTERNS)  # a new pattern needs its sample and its prefix
    for sample, pattern in zip(samples, TOKEN_PATTERNS, strict=True):
        assert pattern.search(f"x {sample} y"), sample
        assert may_need_redaction(f"https://github.com/o/{sample}/actions/runs/1", ()), sample
    assert may_need_redaction("a body naming the token ghs_secret0", ("ghs_secret0",))
    assert not may_need_redaction(first_working_body("https://github.com/o/r/actions/runs/7", "ab12"), ())


def test_the_permission_order_is_the_platforms():
    assert quick.PERMISSION_ORDER == PERMISSION_ORDER
