"""``claude-runner doctor``: check the configured provider end to end, one step at a time.

1. settings: a provider is chosen and its settings are valid (no network);
2. OIDC token: fetched from the CI job, only when the provider's settings say they need one;
3. credentials: the client is built, which is where a provider obtains its credentials
   (an STS or token exchange; nothing for an API key);
4. model call: one minimal request (``max_tokens: 1``, a one-word prompt, not streamed);
5. models: the models the provider lists (``GET /v1/models``, on the Anthropic API and gateways),
   and whether the configured one is among them (a warning when not: the call decides).

Each step prints ``✓ step: detail`` or ``✗ step: message — fix``; the first broken step ends the
check with its error's exit code. The CI flows run steps 1-3 (``preflight``) before they post
anything, so a misconfigured workflow fails fast, naming the step that broke. Every printed
line goes through a redactor that knows the run's secrets and every token minted on the way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from runner.errors import CredentialsError, ModelError, ProviderError, RunnerError
from runner.providers import ProviderConfig, build_client, client_options
from runner.providers.anthropic_federation import FederatedToken, identity_source
from runner.providers.base import TokenSource
from runner.providers.catalog import find_model
from runner.providers.fixes import CONNECTION_FIX, MODEL_ID_FIX, RETRY_LATER_FIX, credentials_fix
from runner.providers.models import resolve_model
from runner.providers.oidc import audiences, jwt_claims, token_source
from runner.sanitize import Redactor

if TYPE_CHECKING:
    from runner.settings.runtime import Runtime

STEPS = ("settings", "oidc token", "credentials", "model call", "models")
MAX_LISTED = 12  # models named in the step's line; --json has them all
DOCTOR_PROMPT = "ping"


@dataclass
class Step:
    """One check and how it went: ``status`` is ``ok``, ``failed`` or ``skipped``."""

    name: str
    status: str
    detail: str = ""
    error: RunnerError | None = None
    models: tuple[str, ...] = ()  # the "models" step: the ids the provider lists

    def line(self) -> str:
        """``✓ settings: ...``, ``✗ credentials: message — fix`` or ``- oidc token: skipped (...)``."""
        if self.status == "ok":
            return f"✓ {self.name}: {self.detail}"
        if self.status == "skipped":
            return f"- {self.name}: {self.detail}"
        if self.status == "warning":
            return f"! {self.name}: {self.detail}"
        return f"✗ {self.name}: {self.error.one_line() if self.error else self.detail}"

    def as_dict(self) -> dict[str, Any]:
        """The step as JSON (``--json``)."""
        data: dict[str, Any] = {"step": self.name, "status": self.status, "detail": self.detail}
        if self.models:
            data["models"] = list(self.models)
        if self.error is not None:
            data["error"] = {
                "kind": self.error.kind,
                "message": self.error.message,
                "fix": self.error.fix,
                "exit_code": self.error.exit_code,
            }
        return data


@dataclass
class Checkup:
    """What the checks found; ``client`` and ``config`` are ready for a run when all passed."""

    steps: list[Step] = field(default_factory=list)
    config: ProviderConfig | None = None
    model: str | None = None
    client: Any = None
    error: RunnerError | None = None

    @property
    def exit_code(self) -> int:
        """0, or the failing error's exit code."""
        return 0 if self.error is None else self.error.exit_code

    def as_dict(self) -> dict[str, Any]:
        """The whole checkup as JSON."""
        return {
            "ok": self.error is None,
            "provider": self.config.name if self.config else None,
            "model": self.model,
            "exit_code": self.exit_code,
            "steps": [s.as_dict() for s in self.steps],
        }


def run_checks(
    runtime: Runtime,
    *,
    model: str | None = None,
    call_model: bool = True,
    timeout_s: float = 30.0,
    redactor: Redactor | None = None,
    on_step: Callable[[Step], None] | None = None,
    oidc: TokenSource | None = None,
) -> Checkup:
    """Run the steps in order, stopping at the first broken one. Never raises ``RunnerError``.

    ``redactor`` learns every secret met on the way (pass the run's own so its transcript hides
    them too); step details and error messages are redacted with it before they are kept.
    ``runtime``: the provider settings (or the error reading them met) and the secrets to hide.
    """
    redactor = redactor or Redactor()
    redactor.add(*runtime.tools.secret_values)
    checkup = Checkup()

    def record(step: Step) -> None:
        step.detail = redactor.text(step.detail)
        if step.error is not None:
            step.error = type(step.error)(redactor.text(step.error.message), redactor.text(step.error.fix))
        checkup.steps.append(step)
        if on_step is not None:
            on_step(step)

    def fail(name: str, error: RunnerError) -> Checkup:
        record(Step(name, "failed", error=error))
        checkup.error = checkup.steps[-1].error
        return checkup

    # 1. settings
    try:
        settings = runtime.provider()
        config = settings.config
        redactor.add(*config.secrets())
        resolved = resolve_model(
            model,
            settings.models,
            provider=config.name,
            strict=config.name == "anthropic" and not config.is_gateway,
        )
    except RunnerError as exc:
        return fail("settings", exc)
    checkup.config, checkup.model = config, resolved
    record(Step("settings", "ok", f"{config.describe()}; model {resolved}"))

    # 2. OIDC token
    if oidc is None:
        try:
            oidc = token_source(settings.oidc, on_token=redactor.add)
        except RunnerError as exc:
            if config.needs_oidc:
                return fail("oidc token", exc)
            oidc = None  # a bad OIDC setting only matters to a provider that uses it
    if config.federation is not None:  # ANTHROPIC_IDENTITY_TOKEN(_FILE) win over the job's token
        oidc = identity_source(config.federation, oidc, on_token=redactor.add)
    if config.needs_oidc or config.federation is not None:
        audience = config.oidc_audience or (config.federation.audience if config.federation else "")
        try:
            detail = _fetch_token(oidc, audience, config, redactor)
        except RunnerError as exc:
            return fail("oidc token", exc)
        record(Step("oidc token", "ok", detail))
    else:
        record(Step("oidc token", "skipped", f"not needed ({config.key_source})"))

    # 3. credentials
    if config.name == "anthropic" and config.federation is None and not call_model:
        # Nothing to obtain for a key, and building the client would import the SDK (~0.3 s)
        # before the flow's acknowledgement: the first model call checks the key.
        record(Step("credentials", "ok", f"{config.key_source} is set (checked by the first model call)"))
        return checkup
    started = time.monotonic()
    try:
        checkup.client = build_client(config, client_options(config, oidc=oidc, on_secret=redactor.add))
    except RunnerError as exc:
        return fail("credentials", exc)
    except Exception as exc:  # an SDK's own error: still one line, never a traceback
        return fail("credentials", ProviderError(f"building the {config.label} client failed: {exc}"))
    federated = getattr(checkup.client, "credentials", None)
    if isinstance(federated, FederatedToken):
        detail = (
            f"token exchange (POST /v1/oauth/token, {federated.settings.rule_id}) gave an access "
            f"token valid for {int(federated.lifetime_s)} s, renewed before it expires"
        )
    elif config.name == "anthropic":
        detail = f"{config.key_source} is set (checked by the model call)"
    else:
        detail = f"obtained ({config.key_source}) in {time.monotonic() - started:.1f} s"
    record(Step("credentials", "ok", detail))

    # 4. model call
    if not call_model:
        return checkup
    try:
        detail = _call_model(checkup.client, resolved, timeout_s, config)
    except ModelError as exc:
        record(_list_models(checkup.client, resolved, timeout_s, config))  # what it could have been
        return fail("model call", exc)
    except RunnerError as exc:
        return fail("model call", exc)
    record(Step("model call", "ok", detail))
    record(_list_models(checkup.client, resolved, timeout_s, config))
    return checkup


def _list_models(client: Any, model: str, timeout_s: float, config: ProviderConfig) -> Step:
    """The models step: ``GET /v1/models`` through the SDK where the provider has it."""
    if config.name != "anthropic" or not hasattr(client, "models"):
        return Step("models", "skipped", f"not listed by this provider ({config.label})")
    try:
        ids = tuple(info.id for info in client.models.list(limit=1000, timeout=timeout_s))
    except Exception as exc:  # a gateway without the Models API: the model call already decided
        status = getattr(exc, "status_code", None)
        why = f"HTTP {status}" if status else type(exc).__name__
        return Step("models", "skipped", f"{config.label} did not list its models ({why})")
    shown = ", ".join(ids[:MAX_LISTED]) + (
        f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else ""
    )
    if not any(_same_model(model, listed) for listed in ids):
        return Step(
            "models", "warning", f"{model} is not among the {len(ids)} models listed: {shown}", models=ids
        )
    return Step("models", "ok", f"{len(ids)} listed, {model} among them: {shown}", models=ids)


def _same_model(configured: str, listed: str) -> bool:
    """A listed id names the configured model: the same id, or the same catalog model (an undated
    id and its snapshot)."""
    if configured == listed:
        return True
    spec = find_model(configured)
    return spec is not None and find_model(listed) == spec


def _fetch_token(oidc: TokenSource | None, audience: str, config: ProviderConfig, redactor: Redactor) -> str:
    if oidc is None:
        raise CredentialsError(
            f"{config.label} needs an OIDC token (key source {config.key_source}) but this job has no "
            "token source",
            "run in GitHub Actions with `permissions: id-token: write`, in GitLab CI with `id_tokens:`, "
            "or set CLAUDE_OIDC_TOKEN_FILE",
        )
    token = oidc.token(audience)
    redactor.add(token)
    detail = f"{oidc.name}: a token for aud {audience}"
    try:
        claims = jwt_claims(token)
    except ValueError:
        return detail
    # iss/sub/aud are what a trust policy matches on: showing them makes a refusal debuggable.
    parts = [
        f"iss {claims['iss']}" if claims.get("iss") else "",
        f"sub {claims['sub']}" if claims.get("sub") else "",
    ]
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        parts.append(f"expires in {int(exp - time.time())} s")
    if audience not in audiences(claims):
        parts.append(f"aud claim {', '.join(audiences(claims)) or '(none)'}")
    extra = ", ".join(p for p in parts if p)
    return f"{detail} ({extra})" if extra else detail


def _call_model(client: Any, model: str, timeout_s: float, config: ProviderConfig) -> str:
    """One non-streaming request with ``max_tokens: 1``; SDK errors become ``RunnerError``."""
    import anthropic

    started = time.monotonic()
    try:
        message = client.messages.create(
            model=model,
            max_tokens=1,
            messages=[{"role": "user", "content": DOCTOR_PROMPT}],
            timeout=timeout_s,
        )
    except RunnerError:
        raise  # a provider's credential refresh failing mid-request already says what to fix
    except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
        message, fix = _api_message(exc)
        raise CredentialsError(
            f"{config.label} refused the request (HTTP {exc.status_code}): {message}",
            fix or _credentials_fix(config),
        ) from None
    except anthropic.NotFoundError as exc:
        message, fix = _api_message(exc)
        raise ModelError(
            f"model {model} was not found on {config.label} (HTTP 404): {message}",
            fix or MODEL_ID_FIX,
        ) from None
    except anthropic.APITimeoutError:
        raise ProviderError(
            f"{config.label} did not answer within {timeout_s:g} s", "check the network, or raise --timeout"
        ) from None
    except anthropic.APIConnectionError as exc:
        raise ProviderError(
            f"could not connect to {config.label}: {exc.__cause__ or exc}",
            CONNECTION_FIX,
        ) from None
    except anthropic.BadRequestError as exc:
        message, fix = _api_message(exc)
        # The doctor's request is minimal: a 400 that names the model is about the model id.
        kind = ModelError if "model" in message.lower() else ProviderError
        raise kind(
            f"{config.label} refused model {model} (HTTP 400): {message}",
            fix or "check the model id for this provider (ANTHROPIC_MODEL, ANTHROPIC_DEFAULT_*_MODEL)",
        ) from None
    except anthropic.APIStatusError as exc:
        message, fix = _api_message(exc)
        raise ProviderError(
            f"{config.label} answered HTTP {exc.status_code}: {message}",
            fix or RETRY_LATER_FIX,
        ) from None
    elapsed = time.monotonic() - started
    usage = getattr(message, "usage", None)
    tokens = f", {usage.input_tokens} in / {usage.output_tokens} out" if usage is not None else ""
    return f"{getattr(message, 'model', model) or model} answered in {elapsed:.1f} s{tokens}"


def _api_message(exc: Any) -> tuple[str, str]:
    """The error's message and, when a provider module explained it (``message — fix``), the fix.

    The SDK's own messages start with ``Error code:`` and quote the whole body; the body's
    ``message`` reads better. A provider module's client replaces that with its explanation.
    """
    text = str(getattr(exc, "message", "") or "")
    if text and not text.startswith("Error code:"):
        message, _, fix = text.partition(" — ")
        return message, fix
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"]), ""
        if isinstance(body.get("message"), str):
            return str(body["message"]), ""
    return text or type(exc).__name__, ""


def _credentials_fix(config: ProviderConfig) -> str:
    if config.oauth_token:
        return (
            "the subscription token was refused: run `claude setup-token` again and store the new "
            "token as the secret behind claude_code_oauth_token (CLAUDE_CODE_OAUTH_TOKEN)"
        )
    if config.federation is not None:
        account = config.federation.service_account_id or "of the rule"
        return f"the exchanged token was refused: check that the service account {account} may use the model"
    return credentials_fix(config.name, config.key_source, config.label)


def preflight(
    runtime: Runtime,
    *,
    redactor: Redactor | None = None,
    log: Callable[[str], None] | None = None,
) -> Checkup:
    """Steps 1-3, for the CI flows before they post anything; raises the first step's error.

    Steps that pass are logged; the failing one is left to the caller's ``error:`` line.

    For the Anthropic provider this touches no network (steps 2 and 3 are local), so it adds
    nothing noticeable to the time before the acknowledgement comment.
    """

    def passed(step: Step) -> None:
        if log is not None and step.error is None:
            log(f"provider check {step.line()}")

    checkup = run_checks(runtime, call_model=False, redactor=redactor, on_step=passed)
    if checkup.error is not None:
        raise checkup.error
    return checkup


def run_doctor(
    runtime: Runtime,
    out: IO[str],
    *,
    model: str | None = None,
    call_model: bool = True,
    as_json: bool = False,
    timeout_s: float = 30.0,
) -> int:
    """``claude-runner doctor``: print each step (or one JSON object); returns the exit code."""

    def show(step: Step) -> None:
        if not as_json:
            out.write(step.line() + "\n")
            out.flush()

    checkup = run_checks(runtime, model=model, call_model=call_model, timeout_s=timeout_s, on_step=show)
    if as_json:
        out.write(json.dumps(checkup.as_dict()) + "\n")
    elif checkup.error is None:
        out.write("all checks passed\n")
    return checkup.exit_code


__all__ = ["STEPS", "Checkup", "Step", "preflight", "run_checks", "run_doctor"]
