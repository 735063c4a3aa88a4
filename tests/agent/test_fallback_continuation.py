"""Fallback and continuation as pure decisions: which model a call goes to, what a cut-off becomes."""

from __future__ import annotations

import pytest

from runner.agent.continuation import CONTINUE_PROMPT, MAX_IN_A_ROW, Continuation
from runner.agent.fallback import ModelChoice
from runner.agent.model_call import ModelCallError, ModelResponse


def answer(model: str) -> ModelResponse:
    return ModelResponse("msg_1", model, [{"type": "text", "text": "hi"}], "end_turn", {})


def failing(statuses: dict[str, int]):
    calls: list[str] = []

    def call(model: str) -> ModelResponse:
        calls.append(model)
        if model in statuses:
            raise ModelCallError("unavailable", status=statuses[model])
        return answer(model)

    return call, calls


@pytest.mark.parametrize("status", [400, 401, 429, 500, None])
def test_other_errors_do_not_fall_back(status):
    call, calls = failing({"a": status} if status else {})
    choice = ModelChoice("a", "b")
    if status is None:
        assert choice.call(call, lambda e: None)[0] == "a"
        return
    with pytest.raises(ModelCallError):
        choice.call(call, lambda e: None)
    assert calls == ["a"]


def test_an_overload_in_a_stream_falls_back_for_one_call():
    call, calls = failing({"a": 529})
    notices: list[dict] = []
    choice = ModelChoice("a", "b")
    assert choice.call(call, notices.append)[0] == "b"
    assert choice.current == "a" and calls == ["a", "b"]
    assert notices[0]["subtype"] == "model_fallback" and "for this call" in notices[0]["message"]


def test_a_missing_model_stays_replaced_and_a_failing_fallback_is_the_error():
    call, calls = failing({"a": 404})
    choice = ModelChoice("a", "b")
    choice.call(call, lambda e: None)
    choice.call(call, lambda e: None)
    assert calls == ["a", "b", "b"] and choice.current == "b"
    call, _ = failing({"a": 529, "b": 529})
    with pytest.raises(ModelCallError):
        ModelChoice("a", "b").call(call, lambda e: None)


def test_a_text_cut_off_is_continued_and_thinking_without_signature_is_dropped():
    cont = Continuation()
    content = [
        {"type": "thinking", "thinking": "a", "signature": "s"},
        {"type": "text", "text": "Hel"},
        {"type": "thinking", "thinking": "cut"},
    ]
    cut = cont.after("max_tokens", content, 10)
    assert cut is not None and cut.error is None and cut.prompt is not None
    assert cut.replay == content[:2] and cut.prompt["content"][0]["text"] == CONTINUE_PROMPT
    assert cont.joined(["lo"]) == "Hello"
    assert cont.after("end_turn", [], 10) is None and cont.prefix == ""


def test_cut_offs_that_cannot_be_continued():
    cont = Continuation()
    tool = cont.after("max_tokens", [{"type": "tool_use", "id": "t", "name": "LS", "input": {}}], 10)
    assert tool is not None and "tool call was cut off" in (tool.error or "")
    thought = cont.after("max_tokens", [{"type": "thinking", "thinking": "hmm"}], 10)
    assert thought is not None and "all thinking" in (thought.error or "")
    for _ in range(MAX_IN_A_ROW):
        assert cont.after("max_tokens", [{"type": "text", "text": "x"}], 10).error is None
    last = cont.after("max_tokens", [{"type": "text", "text": "x"}], 10)
    assert last is not None and f"after {MAX_IN_A_ROW} continuations" in (last.error or "")
