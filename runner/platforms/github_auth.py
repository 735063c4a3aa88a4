"""GitHub credentials: a token as given, or a GitHub App's id and private key to mint a
short-lived installation token for one repository from."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.errors import CredentialsError
from runner.platforms.github_data import error_message


@dataclass(frozen=True)
class GitHubAuth:
    """A token, or a GitHub App (id + private key) to mint an installation token from."""

    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)


def installation_token(app_id: str, private_key: str, *, repo_full_name: str, api_url: str) -> str:
    """App JWT -> ``repo_full_name``'s installation -> a short-lived installation token.

    A refusal or a malformed key is a ``CredentialsError`` saying what to fix.
    """
    from github import Auth, GithubException, GithubIntegration

    owner, repo = repo_full_name.split("/", 1)
    try:
        integration = GithubIntegration(auth=Auth.AppAuth(app_id, private_key), base_url=api_url)
        installation = integration.get_repo_installation(owner, repo)
        return str(integration.get_access_token(installation.id).token)
    except GithubException as exc:
        raise CredentialsError(
            f"GitHub App {app_id} could not get a token for {repo_full_name}: {error_message(exc)}",
            "install the App on this repository and check app_id / app_private_key",
        ) from exc
    except Exception as exc:  # PyJWT's InvalidKeyError, cryptography's ValueError: a malformed key
        if "key" not in str(exc).lower() and not isinstance(exc, ValueError):
            raise
        raise CredentialsError(
            "app_private_key is not a valid PEM private key",
            "paste the App's private key (-----BEGIN RSA PRIVATE KEY----- ...) into a secret",
        ) from exc
