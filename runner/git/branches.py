"""Branch names: git ref validation and claude-code-action's ``branch_name_template``.

Pure functions, no git process. Titles and labels are hostile input (they come from whoever
opened the issue), so every variable taken from them is slugified to ``[a-z0-9-]`` before it
reaches a ref name, and the final name is checked against ``git check-ref-format --branch``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from runner.errors import GitError

MAX_BRANCH_LENGTH = 255  # one path component per ref segment; most filesystems stop at 255 bytes
DEFAULT_NAME_LENGTH = 50  # claude-code-action's "Kubernetes compatible" cap on the default name
DESCRIPTION_WORDS = 5
MAX_DESCRIPTION_LENGTH = 50
SHA_LENGTH = 8

TEMPLATE_VARIABLES = (
    "prefix",
    "entityType",
    "entityNumber",
    "timestamp",
    "runId",
    "sha",
    "label",
    "description",
)
RUN_ID_LENGTH = 10  # the end of a CI run id: unique among the runs that can overlap
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}")
_FORBIDDEN_CHARS = frozenset(" ~^:?*[\\")


class BranchNameError(GitError, ValueError):
    """A branch name git would refuse (or we refuse to hand to git)."""


def _ref_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name.encode()) > MAX_BRANCH_LENGTH:
        return f"it is longer than {MAX_BRANCH_LENGTH} bytes"
    if name.startswith("-"):
        return "it starts with '-' (git would read it as an option)"
    if name in ("@", "HEAD"):
        return f"{name!r} is reserved"
    bad = sorted({c for c in name if c in _FORBIDDEN_CHARS or ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        return "it contains " + " ".join(repr(c) for c in bad)
    if any(not c.isprintable() or c.isspace() for c in name):
        return "it contains whitespace or an unprintable character"
    for part, why in (("..", "'..'"), ("@{", "'@{'"), ("//", "an empty path component")):
        if part in name:
            return f"it contains {why}"
    if name.startswith("/") or name.endswith("/"):
        return "it starts or ends with '/'"
    if name.endswith("."):
        return "it ends with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return f"component {component!r} starts with '.'"
        if component.endswith(".lock"):
            return f"component {component!r} ends with '.lock'"
    return None


def validate_branch_name(name: str) -> str:
    """``name`` unchanged if git accepts it as a branch name; else :class:`BranchNameError`.

    The rules of ``git check-ref-format --branch``: no ``..``, ``@{``, ``~^:?*[\\``, spaces or
    control characters; no empty, ``.``-leading or ``.lock``-ending component; not ``@``; no
    trailing ``/`` or ``.``. Also refused: a leading ``-`` (option injection) and ``HEAD``.
    """
    problem = _ref_problem(name)
    if problem:
        raise BranchNameError(f"invalid branch name {name!r}: {problem}")
    return name


def slugify(text: str, *, max_length: int | None = None) -> str:
    """``text`` as lowercase ``[a-z0-9-]``: accents folded, everything else a single hyphen.

    With ``max_length``, cut at a hyphen where possible so words stay whole.
    """
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if max_length is not None and len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:max_length]
        slug = slug.strip("-")
    return slug


def _description(title: str) -> str:
    # claude-code-action: the title's first five words in kebab-case.
    words = title.split()[:DESCRIPTION_WORDS]
    return slugify(" ".join(words), max_length=MAX_DESCRIPTION_LENGTH)


def render_branch_name(
    template: str | None,
    *,
    prefix: str = "claude/",
    entity: str = "issue",
    number: int,
    now: datetime,
    description: str | None = None,
    sha: str | None = None,
    label: str | None = None,
    run_id: str | None = None,
) -> str:
    """The branch for a run, from ``branch_name_template`` or the default format.

    Default: ``{prefix}{entity}-{number}-{YYYYMMDD-HHMM}``, lowercased and cut to 50
    characters (claude-code-action's format), e.g. ``claude/issue-42-20260121-1405``, then
    ``-{run id}`` when the CI run has one (its last 10 characters): two runs in the same minute
    (two mentions on one issue) must not pick the same branch. A template may use
    ``{{prefix}}``, ``{{entityType}}``, ``{{entityNumber}}``, ``{{timestamp}}``, ``{{runId}}``,
    ``{{sha}}`` (8 characters), ``{{label}}`` (slugified; the entity type when absent) and
    ``{{description}}`` (the title's first five words, slugified, at most 50 characters).
    Empty path segments are dropped; an empty result falls back to the default. The result is
    validated with :func:`validate_branch_name`.
    """
    if number < 0:
        raise BranchNameError(f"invalid entity number {number}")
    entity_type = slugify(entity) or "issue"
    timestamp = now.strftime("%Y%m%d-%H%M")
    run = slugify(run_id or "")[-RUN_ID_LENGTH:].strip("-")
    if template and template.strip():
        values = {
            "prefix": prefix,
            "entityType": entity_type,
            "entityNumber": str(number),
            "timestamp": timestamp,
            "runId": run,
            "sha": slugify(sha or "")[:SHA_LENGTH],
            "label": slugify(label or "") or entity_type,
            "description": _description(description or ""),
        }
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - set(values))
        if unknown:
            raise BranchNameError(
                f"unknown variable(s) in branch_name_template: {', '.join(unknown)}",
                "use " + ", ".join("{{" + v + "}}" for v in TEMPLATE_VARIABLES),
            )
        name = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.strip())
        name = re.sub(r"/+", "/", name).strip("/")
        if name:
            return validate_branch_name(name)
    name = f"{prefix}{entity_type}-{number}-{timestamp}".lower()[:DEFAULT_NAME_LENGTH]
    if run:
        name = f"{name[: DEFAULT_NAME_LENGTH - len(run) - 1].rstrip('-/.')}-{run}"
    return validate_branch_name(name)
