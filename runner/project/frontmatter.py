"""The ``---`` header of Claude Code's Markdown files (commands, skills, agents): the YAML subset
they use (``key: value``, quoted values, ``- item`` lists, ``|`` / ``>`` blocks), read without a
YAML library. ``[a, b]`` stays text (``argument-hint: [pr] [priority]`` is a hint, not a list);
``list_field`` reads it as a list. Pure."""

from __future__ import annotations

FrontValue = str | list[str]


def split_frontmatter(text: str) -> tuple[dict[str, FrontValue], str]:
    """The header as a mapping and the body after it; a file without a header is all body.
    Raises ValueError (one line) when a header is opened and never closed."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text.lstrip("\ufeff")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise ValueError("the frontmatter opened by --- is never closed") from None
    return _parse(lines[1:end]), "\n".join(lines[end + 1 :])


def _parse(lines: list[str]) -> dict[str, FrontValue]:
    meta: dict[str, FrontValue] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#") or line[:1].isspace() or ":" not in line:
            continue
        key, _, raw = line.partition(":")
        key, raw = key.strip(), raw.strip()
        block: list[str] = []
        while i < len(lines) and (
            not lines[i].strip() or lines[i][:1].isspace() or lines[i].startswith("- ")
        ):
            block.append(lines[i])
            i += 1
        if raw in ("|", ">", "|-", ">-", "|+", ">+"):
            texts = [b.strip() for b in block]
            meta[key] = ("\n" if raw.startswith("|") else " ").join(texts).strip()
        elif not raw and any(b.strip().startswith("- ") for b in block):
            meta[key] = [_scalar(b.strip()[2:]) for b in block if b.strip().startswith("- ")]
        else:
            meta[key] = _scalar(" ".join([raw, *(b.strip() for b in block)]).strip())
    return meta


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def text_field(meta: dict[str, FrontValue], key: str) -> str | None:
    """A field as one string (a list joined with ``, ``), or None when it is absent or empty."""
    value = meta.get(key)
    if isinstance(value, list):
        value = ", ".join(value)
    return value.strip() or None if value is not None else None


def list_field(meta: dict[str, FrontValue], key: str) -> tuple[str, ...]:
    """A comma-separated or list field as names (``allowed-tools: Bash(git:*), Read``)."""
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        value = value[1:-1]  # a flow list: [Read, Grep]
    items = value if isinstance(value, list) else _split_rules(value)
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _split_rules(value: str) -> list[str]:
    """Split at commas outside parentheses: ``Bash(git add:*), Read`` is two rules."""
    parts, depth, current = [], 0, ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts
