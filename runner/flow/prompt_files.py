"""``--system-prompt-file`` and ``--append-system-prompt-file`` in a CI flow: read from a trusted tree.

The workspace may hold a pull request's head, so a path inside it is read from the default
branch (like ``.claude/settings.json`` and ``CLAUDE.md``); a path outside it (a file a workflow
step wrote under ``$RUNNER_TEMP``) is read from disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from runner.errors import UsageError
from runner.settings.run import RunSettings


def with_trusted_prompt_files(
    run: RunSettings, workspace: Path, read_trusted: Callable[[str], str | None]
) -> RunSettings:
    """``run`` with the prompt files' text in ``system_prompt`` / ``append_system_prompt``.

    ``read_trusted``: a repository path's text on the default branch (None: no such file).
    """
    texts: dict[str, str] = {}
    for field, flag, path in (
        ("system_prompt", "--system-prompt-file", run.system_prompt_file),
        ("append_system_prompt", "--append-system-prompt-file", run.append_system_prompt_file),
    ):
        if path is None:
            continue
        full = (workspace / path).resolve() if not path.is_absolute() else path.resolve()
        if full.is_relative_to(workspace.resolve()):
            relative = full.relative_to(workspace.resolve()).as_posix()
            text = read_trusted(relative)
            if text is None:
                raise UsageError(f"{flag}: {relative} does not exist on the default branch")
        else:
            try:
                text = full.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"{flag}: cannot read {full}: {exc.strerror}") from exc
        previous = getattr(run, field)
        texts[field] = text if field == "system_prompt" or not previous else f"{previous}\n\n{text}"
    return dataclasses.replace(
        run,
        system_prompt=texts.get("system_prompt", run.system_prompt),
        append_system_prompt=texts.get("append_system_prompt", run.append_system_prompt),
        system_prompt_file=None,
        append_system_prompt_file=None,
    )
