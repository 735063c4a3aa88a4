"""Cleaning text that leaves the runner, and untrusted text that comes in.

Out: secrets are redacted from everything we print. Two nets: the exact values of secret
environment variables the runner was given, and patterns for well-known token formats (so a token
the agent found in a file is caught too).

In: ``clean_untrusted`` and ``clean_untrusted_code`` (see ``runner/text/`` for how a parser
decides what a reader sees).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from runner.text.invisible import strip_invisible

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


# --- Which values may be secrets -------------------------------------------------------------
# A variable withheld from the tools is redacted from everything the runner writes unless its
# value is obviously plain: a number, words or prose, a path, or a URL without credentials, query
# or random-looking segment. Everything else of 8+ characters (random tokens, passwords with
# digits or symbols, JWTs, webhook URLs, UUIDs, keys) counts as a secret.

MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would make the redactor mangle ordinary text
_SEPARATORS = re.compile(r"[\s.,:;_+=@/()\[\]{}<>'\"-]+")
# In prose (a value with spaces: a prompt, a description) punctuation separates words too.
_PROSE_SEPARATORS = re.compile(r"[\s.,:;_+=@/()\[\]{}<>'\"!?*&%#|`~^$-]+")
_RUNS = re.compile(r"[A-Za-z]+|[0-9]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_PATH = re.compile(r"(?:~|\.{1,2})?/[^\0\n]*|[A-Za-z]:\\[^\0\n]*")


def _plain_word(word: str) -> bool:
    """A word (between separators) a person would write: ``production``, ``MyApp``, ``ubuntu24``."""
    if len(word) <= 4 or word.isdigit():
        return word.isalnum()
    if word.isalpha():  # few capitals: a word or CamelCase, not a random mix of cases
        return word.isupper() or sum(c.isupper() for c in word) <= max(2, len(word) // 3)
    runs = len(_RUNS.findall(word))  # "ubuntu24", "utf8mb4", not "hunter2hunter2", "a1b2c3d4"
    return word.isalnum() and (runs <= 2 or (len(word) <= 10 and runs <= 4))


def _plain_words(text: str, separators: re.Pattern[str] = _SEPARATORS) -> bool:
    return all(_plain_word(w) for w in separators.split(text) if w)


def looks_secret(value: str) -> bool:
    """Whether ``value`` may be a secret: 8+ characters and not obviously plain (see above).

    Conservative by design: redacting a value that was not secret only costs readability where
    that exact value appears; missing a secret leaks it.
    """
    text = value.strip()
    if len(text) < MIN_SECRET_LENGTH:
        return False
    if _UUID.search(text) or any(p.search(text) for p in TOKEN_PATTERNS):
        return True
    if "\n" in text:  # a key, a JSON credentials file, or a multi-line prompt: judged line by line
        return any(looks_secret(line) for line in text.splitlines())
    if _URL.match(text):
        from urllib.parse import urlsplit  # lazily: most values are not URLs

        try:
            parts = urlsplit(text)
        except ValueError:
            return True
        return bool("@" in parts.netloc or parts.query or parts.fragment) or not _plain_words(
            parts.netloc + parts.path
        )
    if all(_PATH.fullmatch(p) for p in text.split(":") if p) and text.strip(":"):
        return False  # a path, or a list of paths (PATH-like)
    return not _plain_words(text, _PROSE_SEPARATORS if " " in text else _SEPARATORS)


class Redactor:
    """Replaces known secret values and token-shaped strings with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._exact: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Also redact these values from now on (e.g. a token minted during the run).

        Values shorter than 8 characters are ignored: redacting them would mangle ordinary text.
        A multi-line value is also redacted line by line (its lines that may be secrets).
        """
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                self._values.add(secret)
            if "\n" in secret.strip():  # a multi-line key: each line too (a tool may print a part)
                self._values.update(line.strip() for line in secret.splitlines() if looks_secret(line))
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
# Comments, titles, bodies and branch names are written by anyone who can comment. Before they
# enter a prompt, what a reader of the rendered page would not see (and so could not review) is
# removed: runner/text/ decides that with a CommonMark and an HTML5 parser.


def clean_untrusted(text: str, redactor: Redactor | None = None) -> str:
    """Markdown from a comment, title or body, as a reader of the rendered page sees it; redacted.

    Gone: HTML comments in every form, hidden elements (``hidden``, ``aria-hidden``, hiding styles,
    ``<script>``, ``<style>``, ``<template>``...), processing instructions and CDATA, link
    reference definitions, image alt text, link titles, invisible characters. Kept: text, links'
    text and URLs, images' URLs, tables, lists, quotes, and code spans and blocks byte for byte.
    """
    from runner.text import visible_markdown

    return (redactor or _DEFAULT_REDACTOR).text(visible_markdown(text))


def clean_untrusted_code(text: str, redactor: Redactor | None = None) -> str:
    """Text that is not markdown (a diff, a file path, a branch name): invisible characters removed
    (a reader cannot see them in code either), secrets redacted, nothing else touched."""
    return (redactor or _DEFAULT_REDACTOR).text(strip_invisible(text))


_DEFAULT_REDACTOR = Redactor()
