"""Rendering prompts and comment bodies from the jinja2 templates in ``runner/templates``.

A repository can replace a template (``prompt_template``, ``comment_template``); the
runner reads that file from the default branch and passes its text here, so a pull
request cannot change what the runner says or asks.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from runner.errors import SettingsError

if TYPE_CHECKING:
    import jinja2


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("runner", "templates"),
        autoescape=False,  # markdown and plain text, not HTML
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly instead of printing nothing
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, override: str | None = None, **values: Any) -> str:
    """Render the built-in template ``name`` (e.g. ``prompt_tag.j2``), or ``override`` text instead."""
    import jinja2

    env = _environment()
    try:
        template = env.from_string(override) if override is not None else env.get_template(name)
        return template.render(**values).strip() + "\n"
    except jinja2.TemplateError as exc:
        where = "the repository's template" if override is not None else name
        raise SettingsError(f"cannot render {where}: {exc}", "fix the template syntax or names") from exc
