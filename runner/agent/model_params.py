"""What a request says about output for one model: ``max_tokens``, ``thinking`` and ``output_config``.

Pure: a model id and the run's options in, request fields and warnings out. The rules come from
the model's entry in ``runner/providers/catalog.py`` (checked against the Claude docs):

- ``max_tokens``: ``--max-output-tokens`` (or ``CLAUDE_CODE_MAX_OUTPUT_TOKENS``), else 64,000 or
  the model's own limit when lower; a value over the model's limit is lowered to it.
- ``output_config.effort``: sent as given for models that accept effort (no beta header); a level
  the model lacks (``xhigh`` on Sonnet 4.6) becomes the nearest lower one it has; not sent to a
  model without effort. Unknown ids (gateways, ARNs naming no model) get it as given.
- ``thinking``: as Claude Code does, models with adaptive thinking get ``{"type": "adaptive"}``
  (not with ``CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING=1``);
  ``MAX_THINKING_TOKENS=N`` gives models with budgets ``{"type": "enabled", "budget_tokens": N}``
  (adaptive-only models keep adaptive); ``MAX_THINKING_TOKENS=0`` sends ``{"type": "disabled"}``
  where the model allows it and nothing where it does not (models that always think still think).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.providers.catalog import DEFAULT_MAX_TOKENS, EFFORT_LEVELS, find_model


@dataclass(frozen=True)
class OutputOptions:
    """How much the run asks each model to write and think."""

    effort: str | None = None  # None: the model's default
    max_thinking_tokens: int | None = None  # None: the model's default; 0: no thinking
    adaptive_thinking: bool = True  # False: no {"type": "adaptive"} unless asked (a gateway without it)


def output_fields(
    model: str, options: OutputOptions, max_output_tokens: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The request fields for ``model`` (``max_output_tokens``: ``--max-output-tokens``, None for
    the model's default) and any warnings about options it cannot take."""
    spec = find_model(model)
    warnings: list[str] = []
    limit = spec.max_output if spec else None
    max_tokens = max_output_tokens or (min(DEFAULT_MAX_TOKENS, limit) if limit else DEFAULT_MAX_TOKENS)
    if limit and max_tokens > limit:
        warnings.append(f"{model} writes at most {limit} tokens; max_tokens lowered from {max_tokens}")
        max_tokens = limit
    fields: dict[str, Any] = {"max_tokens": max_tokens}
    effort = _effort(model, spec.efforts if spec else None, options.effort, warnings)
    if effort:
        fields["output_config"] = {"effort": effort}
    thinking = _thinking(model, spec.thinking if spec else None, options, max_tokens, effort, warnings)
    if thinking is not None:
        fields["thinking"] = thinking
    return fields, warnings


def _effort(
    model: str, accepted: tuple[str, ...] | None, wanted: str | None, warnings: list[str]
) -> str | None:
    if wanted is None or accepted is None:
        return wanted
    if not accepted:
        warnings.append(f"{model} does not take an effort level; --effort {wanted} is not sent")
        return None
    if wanted in accepted:
        return wanted
    lower = [level for level in EFFORT_LEVELS[: EFFORT_LEVELS.index(wanted)] if level in accepted]
    chosen = lower[-1] if lower else accepted[0]
    warnings.append(f"{model} has no effort level {wanted}; using {chosen}")
    return chosen


def _thinking(
    model: str,
    mode: str | None,
    options: OutputOptions,
    max_tokens: int,
    effort: str | None,
    warnings: list[str],
) -> dict[str, Any] | None:
    budget = options.max_thinking_tokens
    if mode is None:  # an id we do not know: only what was asked for explicitly
        if budget is None:
            return None
        return {"type": "disabled"} if budget == 0 else _budget(budget, max_tokens)
    if mode == "none":
        if budget:
            warnings.append(f"{model} has no extended thinking; MAX_THINKING_TOKENS is ignored")
        return None
    if budget == 0:
        if mode == "always":
            warnings.append(f"{model} always thinks; MAX_THINKING_TOKENS=0 cannot turn it off")
            return None
        if mode == "on":
            if effort in ("xhigh", "max"):
                warnings.append(f"{model} cannot turn thinking off at effort {effort}; it keeps thinking")
                return None
            return {"type": "disabled"}
        return None  # the model does not think unless asked
    if budget is None:
        wanted = options.adaptive_thinking and mode in ("adaptive", "adaptive+budget")
        return {"type": "adaptive"} if wanted else None
    if mode in ("budget", "adaptive+budget"):
        return _budget(budget, max_tokens)
    if mode == "adaptive":
        return {"type": "adaptive"}  # budgets are rejected: adaptive thinking, its depth set by effort
    return None  # always/on: the model thinks already; effort sets how much


def _budget(budget: int, max_tokens: int) -> dict[str, Any]:
    # The API rejects a budget that is not below max_tokens: keep room for the answer.
    return {"type": "enabled", "budget_tokens": min(budget, max(1024, max_tokens - 1))}


__all__ = ["OutputOptions", "output_fields"]
