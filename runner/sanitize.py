"""Cleaning text that leaves the runner: secrets are redacted from everything we print.

Two nets: the exact values of secret environment variables the runner was given, and
patterns for well-known token formats (so a token the agent found in a file is caught too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

# Well-known credential formats. Kept specific so ordinary text is never mangled.
TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),  # Anthropic API keys
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"),  # GitLab personal/project access tokens
    re.compile(r"\bgl(?:cbt|dt|ptt|rt|soat|ft)-[A-Za-z0-9_\-]{20,}"),  # other GitLab token kinds
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bya29\.[A-Za-z0-9_\-]{20,}"),  # Google OAuth access tokens
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),  # JWTs (OIDC tokens)
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
)


class Redactor:
    """Replaces known secret values and token-shaped strings with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._exact: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Also redact these values from now on (e.g. a token minted during the run).

        Values shorter than 8 characters are ignored: redacting them would mangle ordinary text.
        """
        self._values.update(s for s in secrets if len(s) >= 8)
        # Longest first, so a secret that contains another is removed whole.
        ordered = sorted(self._values, key=len, reverse=True)
        self._exact = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        if self._exact is not None:
            value = self._exact.sub(REDACTED, value)
        for pattern in TOKEN_PATTERNS:
            if pattern.search(value):
                value = pattern.sub(REDACTED, value)
        return value

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


# --- Untrusted text coming in -------------------------------------------------------------
# Comments, titles, bodies and branch names are written by anyone who can comment. Before
# they enter a prompt we remove what a human reader would not see (and so could not
# review) but a model would read: HTML comments, invisible and direction-changing
# characters, image alt text, link titles, hidden elements and attributes.

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_IMAGE_ALT = re.compile(r"!\[[^\]]*\](\(|\[)")
_LINK_TITLE = re.compile(r"(\]\(\s*[^\s)]+)\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\))\s*\)")
_HIDDEN_ELEMENT = re.compile(
    r"<(\w+)\b[^>]*(?:\shidden\b|display\s*:\s*none|visibility\s*:\s*hidden)[^>]*>.*?</\1\s*>", re.S | re.I
)
_HIDDEN_ATTRIBUTE = re.compile(
    r"""\s(?:alt|title|aria-label|aria-description|placeholder|data-[\w-]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""",
    re.I,
)
_NUMERIC_ENTITY = re.compile(r"&#(x[0-9a-f]+|\d+);", re.I)


def _decode_entity(match: re.Match[str]) -> str:
    raw = match.group(1)
    try:
        code = int(raw[1:], 16) if raw[0] in "xX" else int(raw)
    except ValueError:
        return ""
    # Printable ASCII only: an entity is otherwise a way to smuggle invisible characters.
    return chr(code) if 32 <= code < 127 or code in (9, 10, 13) else ""


def clean_untrusted(text: str, redactor: Redactor | None = None) -> str:
    """``text`` from a comment, title, body or file, safe to show a model as data."""
    text = _HTML_COMMENT.sub("", text)
    text = _HIDDEN_ELEMENT.sub("", text)
    text = _HIDDEN_ATTRIBUTE.sub("", text)
    text = _NUMERIC_ENTITY.sub(_decode_entity, text)
    text = _INVISIBLE.sub("", text)
    text = _IMAGE_ALT.sub(r"![]\1", text)
    text = _LINK_TITLE.sub(r"\1)", text)
    return (redactor or _DEFAULT_REDACTOR).text(text)


_DEFAULT_REDACTOR = Redactor()
