"""Seals on the runner's comments, for a runner that posts as a person.

With a GitHub App, Actions' ``GITHUB_TOKEN`` or a GitLab project/group access token, the runner's
comments are a bot's, which no person can post as: a marker (sticky comment, review summary,
reviewed head, fingerprints) in one of them is the runner's. With a personal access token the
runner posts as that person, who can paste a marker into a comment of their own and have the
runner write its answer there. So a runner acting as a person seals every body it writes: a last
hidden line carrying an HMAC of the body, keyed by a key derived from its token (which only the
runner holds); and it trusts a marker only in a body whose seal matches.

A verbatim copy of a sealed comment carries the markers of the original, so trusting it tells
nothing the original did not. A new token makes old seals invalid: a sticky comment is then
started anew and a review is a full one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

SEAL_PREFIX = "<!-- claude-runner:seal:"
_SEAL_LINE = re.compile(r"\n?<!-- claude-runner:seal:([0-9a-f]{64}) -->\s*$")


def _canonical(body: str) -> bytes:
    """The body as a host may hand it back: CRLF or LF, trailing blanks trimmed."""
    lines = body.replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip().encode()


@dataclass(frozen=True)
class Seal:
    """Signs bodies and checks them; ``key`` None: the runner is a bot, nothing needs a seal."""

    key: bytes | None = field(default=None, repr=False)

    def _mac(self, body: str) -> str:
        assert self.key is not None
        return hmac.new(self.key, _canonical(body), hashlib.sha256).hexdigest()

    def sign(self, body: str) -> str:
        """``body`` with its seal as the last line (unchanged for a bot)."""
        if self.key is None:
            return body
        bare = _SEAL_LINE.sub("", body).rstrip("\n")
        return f"{bare}\n{SEAL_PREFIX}{self._mac(bare)} -->\n"

    def trusts(self, body: str) -> bool:
        """Whether markers in ``body`` are the runner's: always for a bot, else a matching seal."""
        if self.key is None:
            return True
        found = _SEAL_LINE.search(body.replace("\r\n", "\n"))
        if found is None:
            return False
        bare = body.replace("\r\n", "\n")[: found.start()]
        return hmac.compare_digest(found.group(1), self._mac(bare))


def seal_for(token: str | None, *, person: bool) -> Seal:
    """The seal of a runner holding ``token``: keyed from it when the token acts as a person."""
    if not person or not token:
        return Seal()
    return Seal(hashlib.sha256(b"claude-runner comment seal\0" + token.encode()).digest())


__all__ = ["SEAL_PREFIX", "Seal", "seal_for"]
