"""One model call over the SDK (streamed by default), and the retry loop around it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.agent.cancel import CancelToken
from runner.agent.conversation import WireMessages, encode_body
from runner.agent.retry import RetryPolicy, error_kind, is_retryable, retry_delay, stream_error_status


@dataclass
class ModelResponse:
    """An assistant message as plain data, with how long the API took."""

    id: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: dict[str, Any]
    api_ms: int = 0

    def as_message(self) -> dict[str, Any]:
        """The Messages API shape, as Claude Code's stream-json prints it."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content,
            "stop_reason": self.stop_reason,
            "usage": self.usage,
        }


@dataclass
class ModelCallError(Exception):
    """A model call failed; ``status`` is None when no HTTP response arrived."""

    message: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None
    timed_out: bool = False
    retries: int = 0  # retries made before giving up

    def __str__(self) -> str:
        return self.message

    @property
    def kind(self) -> str:
        """Claude Code's error category (``rate_limit``, ``authentication_failed``, ...)."""
        return error_kind(self.status)


class DeadlineExceeded(Exception):
    """The run's wall-clock limit passed while waiting on the model."""


def call_model(
    client: Any,
    params: dict[str, Any],
    *,
    stream: bool,
    deadline: float | None,
    timeout_s: float,
) -> ModelResponse:
    """One attempt. Raises ``ModelCallError`` (retry decision is the caller's) or ``DeadlineExceeded``."""
    import anthropic

    started = time.monotonic()
    remaining = _remaining(deadline)
    request_timeout = min(timeout_s, remaining) if remaining is not None else timeout_s
    try:
        if stream:
            response = _stream(client, params, deadline, request_timeout)
        else:
            try:
                message = _send(client, params, stream=False, timeout=request_timeout)
            except json.JSONDecodeError as exc:  # the SDK parses a 200 body without checking it
                detail = f"the body is not valid JSON ({_json_problem(exc)})"
                raise ModelCallError(f"the model's reply was malformed: {detail}") from exc
            response = _message_response(message)
    except anthropic.APIStatusError as exc:
        if 200 <= exc.status_code < 300:  # an `error` event inside a stream the API answered with 200
            raise _stream_error(exc) from exc
        raise ModelCallError(
            _status_message(exc),
            status=exc.status_code,
            headers=dict(exc.response.headers),
            # The Anthropic API says request-id; Bedrock says x-amzn-requestid.
            request_id=exc.response.headers.get("request-id") or exc.response.headers.get("x-amzn-requestid"),
        ) from exc
    except anthropic.APIConnectionError as exc:
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            raise DeadlineExceeded() from exc
        timed_out = isinstance(exc, anthropic.APITimeoutError)
        raise ModelCallError(f"connection to the model API failed: {exc}", timed_out=timed_out) from exc
    except (DeadlineExceeded, ModelCallError):
        raise
    except Exception as exc:  # transport errors raised mid-stream by the HTTP client
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            raise DeadlineExceeded() from exc
        if type(exc).__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "anthropic"}:
            raise ModelCallError(f"the model API stream broke: {type(exc).__name__}: {exc}") from exc
        raise
    response.api_ms = int((time.monotonic() - started) * 1000)
    return response


def call_with_retries(
    client: Any,
    params: dict[str, Any],
    *,
    stream: bool,
    deadline: float | None,
    timeout_s: float,
    policy: RetryPolicy,
    on_retry: Callable[[int, float, ModelCallError], None],
    cancel: CancelToken | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ModelResponse:
    """Call the model, retrying rate limits, overloads, server errors and dropped streams."""
    attempt = 0
    while True:
        try:
            return call_model(client, params, stream=stream, deadline=deadline, timeout_s=timeout_s)
        except ModelCallError as error:
            if cancel is not None:
                cancel.check()  # a signal during the request surfaces as a connection error
            attempt += 1
            if not is_retryable(error.status) or attempt > policy.max_retries:
                error.retries = attempt - 1
                raise
            delay = retry_delay(attempt, policy, error.headers)
            remaining = _remaining(deadline)
            if remaining is not None and delay >= remaining:
                raise DeadlineExceeded() from error
            on_retry(attempt, delay, error)
            sleep(delay)


def _send(client: Any, params: dict[str, Any], *, stream: bool, timeout: float) -> Any:
    """Send the request: the SDK's message or event stream.

    To the Anthropic API and gateways the body is posted as the bytes the conversation already
    encoded (``encode_body``): the SDK's ``messages.create`` copies and encodes the whole history
    on every call, which made the runner's CPU per turn grow with the session. Clients that
    rewrite the body (Bedrock, Vertex AI, Foundry) get it through ``messages.create``; ``betas``
    (the API's beta features) go through ``beta.messages.create`` there.
    """
    if _posts_raw(client, params):
        import anthropic
        from anthropic._base_client import make_request_options

        headers = {"Content-Type": "application/json"}
        if params.get("betas"):
            headers["anthropic-beta"] = ",".join(params["betas"])
        body = encode_body({**params, "stream": True} if stream else params)
        return client.post(
            "/v1/messages",
            content=body,
            cast_to=object,  # the JSON as it came: no pydantic models built for it
            stream=stream,
            stream_cls=anthropic.Stream[object],
            options=make_request_options(extra_headers=headers, timeout=timeout),
        )
    messages = client.beta.messages if params.get("betas") else client.messages
    if stream:
        return messages.create(**params, stream=True, timeout=timeout)
    return messages.create(**params, timeout=timeout)


# The fields the token counting endpoint accepts (it rejects max_tokens, stream and the like).
_COUNTED = ("model", "system", "tools", "messages", "tool_choice", "thinking", "context_management")


def count_tokens(client: Any, params: dict[str, Any], timeout_s: float = 30.0) -> int | None:
    """The prompt tokens of ``params`` by the API's ``/v1/messages/count_tokens``, or None where
    the provider has no such endpoint (only clients that send bodies as given ask) or it fails."""
    if not _posts_raw(client, params):
        return None
    import anthropic
    from anthropic._base_client import make_request_options

    headers = {"Content-Type": "application/json"}
    if params.get("betas"):
        headers["anthropic-beta"] = ",".join(params["betas"])
    body = encode_body({key: params[key] for key in _COUNTED if key in params})
    try:
        answer = client.post(
            "/v1/messages/count_tokens",
            content=body,
            cast_to=object,
            options=make_request_options(extra_headers=headers, timeout=timeout_s),
        )
    except anthropic.AnthropicError:
        return None
    tokens = answer.get("input_tokens") if isinstance(answer, dict) else None
    return tokens if isinstance(tokens, int) and tokens > 0 else None


def _posts_raw(client: Any, params: dict[str, Any]) -> bool:
    """Whether the client sends a body as given (it does not rewrite requests)."""
    if not isinstance(params.get("messages"), WireMessages):
        return False
    from anthropic._base_client import SyncAPIClient

    kind = type(client)
    return (
        isinstance(client, SyncAPIClient)
        and kind._prepare_options is SyncAPIClient._prepare_options
        and kind._build_request is SyncAPIClient._build_request
    )


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded()
    return remaining


def _stream_error(exc: Any) -> ModelCallError:
    """An ``error`` event mid-stream, as the HTTP error of its type would have been reported.

    The SDK raises it as a bare ``APIStatusError`` carrying the stream's 200 status, so the
    status that decides retries and the exit code comes from the event's ``error.type``. The
    200 response's headers are not passed on: their ``retry-after``, if any, was not about this error.
    """
    body = exc.body
    error = body.get("error") if isinstance(body, dict) else None
    request_id = exc.response.headers.get("request-id")
    if not isinstance(error, dict):
        malformed = _malformed(f"an error event without an error object ({str(body)[:200]!r})")
        malformed.request_id = request_id
        return malformed
    error_type = str(error.get("type") or "error")
    status = stream_error_status(error_type)
    text = f"{error_type}: {error.get('message') or 'no message'}"
    return ModelCallError(
        f"{text} (an error event in the model's stream, handled like HTTP {status})",
        status=status,
        request_id=request_id,
    )


def _status_message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return f"{exc.status_code} {error.get('type', 'error')}: {error['message']}"
    # The SDK's message repeats the status ("Error code: 404 - {...}"): say it once.
    message = re.sub(r"^Error code: \d+ - ", "", str(exc.message))
    return f"{exc.status_code}: {message}"


def _stream(client: Any, params: dict[str, Any], deadline: float | None, timeout_s: float) -> ModelResponse:
    """Accumulate a streamed message from raw events (cheaper than the SDK's snapshot helper).

    Whatever the stream carries that does not make a message (a data line that is not JSON, an
    event that does not fit the blocks so far, no ``message_stop``) is a ``malformed`` error:
    retried like a dropped connection, never a crash of the run.
    """
    import anthropic

    message = _Accumulator(str(params.get("model", "")))
    with _send(client, params, stream=True, timeout=timeout_s) as events:
        iterator = iter(events)
        while True:
            try:
                event = next(iterator)
            except StopIteration:
                break
            except json.JSONDecodeError as exc:
                raise _malformed(f"a data line is not valid JSON ({_json_problem(exc)})") from exc
            except UnicodeDecodeError as exc:
                raise _malformed(f"a line is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
            except anthropic.APIResponseValidationError as exc:  # strict clients validate each event
                raise _malformed(f"an event does not match the API's schema ({exc.body!r:.200})") from exc
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded()
            if not isinstance(event, dict):  # an SDK model (clients that rewrite requests)
                event = event.model_dump(exclude_none=True)
            try:
                message.add(event)
            except (AttributeError, IndexError, KeyError, TypeError) as exc:
                kind = event.get("type", type(event).__name__)
                problem = f"{type(exc).__name__}: {exc}"
                raise _malformed(f"a {kind} event does not fit the message ({problem})") from exc
    if not message.complete:
        raise _malformed(f"it ended after {message.events} events without message_stop")
    return message.response()


def _json_problem(exc: json.JSONDecodeError) -> str:
    """What was wrong, and the start of the text that was not JSON (enough to recognise it)."""
    start = exc.doc[:80] + ("…" if len(exc.doc) > 80 else "")
    return f"{exc} in {start!r}"


def _malformed(detail: str) -> ModelCallError:
    # No status: retried like a dropped connection (the same request may well stream cleanly).
    return ModelCallError(f"the model's stream was malformed: {detail}")


@dataclass
class _Accumulator:
    """The assistant message built up from stream events."""

    model: str
    msg_id: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    partial_json: dict[int, list[str]] = field(default_factory=dict)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    events: int = 0

    def add(self, event: dict[str, Any]) -> None:
        """Apply one event; an event that does not fit raises (the caller calls the stream malformed)."""
        self.events += 1
        kind = event["type"]
        if kind == "content_block_delta":
            delta = event["delta"]
            block = self.blocks[event["index"]]
            delta_type = delta["type"]
            if delta_type == "text_delta":
                block["text"] += delta["text"]
            elif delta_type == "input_json_delta":
                self.partial_json.setdefault(event["index"], []).append(delta["partial_json"])
            elif delta_type == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta_type == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta_type == "compaction_delta":  # the API's summary of the earlier turns
                block["content"] = (block.get("content") or "") + (delta.get("content") or "")
                if delta.get("encrypted_content"):
                    block["encrypted_content"] = delta["encrypted_content"]
        elif kind == "content_block_start":
            self.blocks.append(_start_block(event["content_block"]))
        elif kind == "content_block_stop":
            index = event["index"]
            pieces = self.partial_json.pop(index, None)
            if pieces is not None:
                raw = "".join(pieces)
                try:
                    self.blocks[index]["input"] = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    # Keep the raw text: the loop tells the model its input was not valid JSON.
                    self.blocks[index]["input"] = {"__invalid_json__": raw}
        elif kind == "message_start":
            message = event["message"]
            self.msg_id, self.model = message["id"], message["model"]
            self.usage = _present(message["usage"])
        elif kind == "message_delta":
            self.stop_reason = event["delta"].get("stop_reason")
            # message_delta usage is cumulative: it replaces, not adds to, the start values.
            self.usage.update(_present(event.get("usage") or {}))
        elif kind == "message_stop":
            self.complete = True

    def response(self) -> ModelResponse:
        """The finished message."""
        return ModelResponse(
            id=self.msg_id,
            model=self.model,
            content=self.blocks,
            stop_reason=self.stop_reason,
            usage=_billed(self.usage),
        )


def _start_block(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block.get("text") or ""}
    if kind == "tool_use":
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
    if kind == "thinking":
        return {
            "type": "thinking",
            "thinking": block.get("thinking") or "",
            "signature": block.get("signature") or "",
        }
    return _present(block)


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """The fields that carry a value (the API's nulls left out, as the SDK's ``exclude_none``)."""
    return {key: value for key, value in data.items() if value is not None}


def _billed(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage with the API's compaction counted: when the API compacted during the request, the
    top-level counts leave the summarising step out and ``iterations`` holds every step's."""
    steps = usage.get("iterations")
    if not isinstance(steps, list) or not steps:
        return usage
    fields = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    totals = {key: sum(int(step.get(key) or 0) for step in steps if isinstance(step, dict)) for key in fields}
    return {**usage, **totals}


def _message_response(message: Any) -> ModelResponse:
    """A whole (not streamed) message: the JSON of the fast path, or an SDK model."""
    if not isinstance(message, dict):
        message = message.model_dump(exclude_none=True)
    try:
        return ModelResponse(
            id=message["id"],
            model=message["model"],
            content=[_present(block) for block in message["content"]],
            stop_reason=message.get("stop_reason"),
            usage=_billed(_present(message["usage"])),
        )
    except (KeyError, TypeError) as exc:
        raise ModelCallError(f"the model's reply was malformed: {type(exc).__name__}: {exc}") from exc
