"""GitHub credentials: a token as given, or a GitHub App's id and private key to mint short-lived
installation tokens for one repository from, minted again before each one expires."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runner.errors import CredentialsError, PlatformUnavailable
from runner.platforms.github_data import error_message
from runner.platforms.retry import RETRY_STATUSES, Backoff, transport_failure

if TYPE_CHECKING:
    from github.Auth import Auth

# An installation token lives an hour; mint the next one this long before the current one expires,
# so no request (or push) goes out with a token about to lapse.
REFRESH_BEFORE_S = 300.0
TOKEN_LIFETIME_S = 3600.0  # when GitHub does not say


@dataclass(frozen=True)
class GitHubAuth:
    """A token, or a GitHub App (id + private key) to mint an installation token from."""

    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)


class Tokens:
    """Where the adapter gets the token for each request: one given token, as is."""

    def __init__(self, token: str) -> None:
        self._token = token

    @property
    def minted(self) -> bool:
        """Whether the tokens were minted here (and should be revoked at the end)."""
        return False

    def current(self) -> str:
        """The token to use now."""
        return self._token

    def revocable(self) -> bool:
        """Whether there is a token of ours worth revoking now (not one given to us)."""
        return False


class AppTokens(Tokens):
    """A GitHub App's installation tokens for ``repo_full_name``: one is minted on first use and
    another ``REFRESH_BEFORE_S`` before each expires (by ``backoff``'s clock). ``on_token`` hears
    of every new one (e.g. to mask it in the job's log). ``slug``: the App's, once minted."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        *,
        repo_full_name: str,
        api_url: str,
        backoff: Backoff,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__("")
        self.app_id, self._key, self.repo_full_name, self.api_url = (
            app_id,
            private_key,
            repo_full_name,
            api_url,
        )
        self.backoff, self.on_token = backoff, on_token
        self.slug: str | None = None
        self.expires_at = 0.0
        self.issued = 0  # how many tokens were minted
        self._installation: int | None = None
        self._lock = threading.Lock()

    @property
    def minted(self) -> bool:
        return self.issued > 0

    def revocable(self) -> bool:
        """A token was minted and will not expire within ``REFRESH_BEFORE_S`` (revoking one about to
        expire would first mint a fresh one, only to revoke that)."""
        return self.issued > 0 and self.backoff.clock.time() < self.expires_at - REFRESH_BEFORE_S

    def current(self) -> str:
        with self._lock:
            if self.issued == 0 or self.backoff.clock.time() >= self.expires_at - REFRESH_BEFORE_S:
                self.backoff.begin()
                self._mint()
            return self._token

    def _mint(self) -> None:
        """App JWT -> the repository's installation -> a new installation token.

        A refusal or a malformed key is a ``CredentialsError`` saying what to fix; GitHub failing
        or out of reach a ``PlatformUnavailable``. A token is a harmless thing to mint twice, so its
        POST is retried like a read."""
        import requests
        from github import Auth, GithubException, GithubIntegration

        from runner.platforms.transport_retry import transport

        owner, repo = self.repo_full_name.split("/", 1)
        try:
            integration = GithubIntegration(
                auth=Auth.AppAuth(self.app_id, self._key),
                base_url=self.api_url,
                retry=transport(self.backoff, read_posts={"*/access_tokens"}),
                timeout=self.backoff.whole_seconds_timeout(),
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
            if self._installation is None:
                installation = integration.get_repo_installation(owner, repo)
                self._installation, self.slug = installation.id, installation.app_slug
            granted = integration.get_access_token(self._installation)
        except requests.RequestException as exc:
            why, _ = transport_failure(exc)
            raise PlatformUnavailable(
                f"GitHub API unreachable while trying to mint the App's installation token: {why}"
                f"{self.backoff.after()}",
                "run the job again when GitHub answers",
            ) from exc
        except GithubException as exc:
            where = self.repo_full_name
            if int(exc.status or 0) in RETRY_STATUSES and int(exc.status or 0) != 403:
                raise PlatformUnavailable(
                    f"GitHub API kept failing while trying to mint the App's installation token: "
                    f"{exc.status} {error_message(exc)}{self.backoff.after()}",
                    "run the job again later",
                ) from exc
            raise CredentialsError(
                f"GitHub App {self.app_id} could not get a token for {where}: {error_message(exc)}",
                "install the App on this repository and check app_id / app_private_key",
            ) from exc
        except Exception as exc:  # PyJWT's InvalidKeyError, cryptography's ValueError: a malformed key
            if "key" not in str(exc).lower() and not isinstance(exc, ValueError):
                raise
            raise CredentialsError(
                "app_private_key is not a valid PEM private key",
                "paste the App's private key (-----BEGIN RSA PRIVATE KEY----- ...) into a secret",
            ) from exc
        now = self.backoff.clock.time()
        expires = granted.expires_at.timestamp() if granted.expires_at else now + TOKEN_LIFETIME_S
        self._token, self.expires_at, self.issued = str(granted.token), expires, self.issued + 1
        if self.issued > 1:
            self.backoff.log(
                f"GitHub App installation token refreshed (the new one is valid until {_clock(expires)})"
            )
        if self.on_token is not None:
            self.on_token(self._token)


def token_auth(tokens: Tokens) -> Auth:
    """A PyGithub ``Auth`` that asks ``tokens`` for the token on every request."""
    from github.Auth import Token

    class _Current(Token):
        @property
        def token(self) -> str:
            return tokens.current()

    return _Current("unused")


def _clock(epoch: float) -> str:
    import time

    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch))


__all__ = ["AppTokens", "GitHubAuth", "Tokens", "token_auth"]
