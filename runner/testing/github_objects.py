"""Builders of GitHub REST API objects for the loopback fake (stdlib only).

Each function returns a plain dict shaped like the schema of the same name in GitHub's OpenAPI
description (`simple-user`, `full-repository`, `repository`, `label`, `reaction-rollup`, ...): every
required property is present, nullable ones are `None` when unknown, URLs point at the fake.
`tests/test_fake_github_schema.py` validates them against the published description.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

__all__ = [
    "JSON",
    "Urls",
    "iso",
    "label_object",
    "legacy_node_id",
    "link",
    "reactions_object",
    "repo_object",
    "user_object",
]


def iso(ts: float) -> str:
    """An epoch timestamp as GitHub writes it: ISO-8601 in UTC with a `Z`, whole seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def legacy_node_id(kind: str, number: int) -> str:
    """A GraphQL node id in GitHub's legacy encoding, e.g. `MDQ6VXNlcjE=` for ("User", 1)."""
    raw = f"{len(kind):02d}:{kind}{number}"
    return base64.b64encode(raw.encode()).decode()


def link(href: str) -> JSON:
    """A `link` object (`{"href": ...}`) as used in `_links`."""
    return {"href": href}


@dataclass(frozen=True)
class Urls:
    """Where the fake lives: `api` is the REST root (github.com style, or `.../api/v3` for GHES),
    `web` the root of `html_url`s."""

    api: str
    web: str

    def repo_api(self, full_name: str) -> str:
        """`{api}/repos/{owner}/{repo}`."""
        return f"{self.api}/repos/{full_name}"

    def repo_web(self, full_name: str) -> str:
        """`{web}/{owner}/{repo}`."""
        return f"{self.web}/{full_name}"

    def quote(self, path: str) -> str:
        """A file path for use inside a URL."""
        return urllib.parse.quote(path)


def user_object(
    urls: Urls, login: str, user_id: int, *, type: str = "User", site_admin: bool = False
) -> JSON:
    """A `simple-user` object (also valid as `nullable-simple-user` and `collaborator` without extras)."""
    api = f"{urls.api}/users/{urllib.parse.quote(login)}"
    kind = "Bot" if type == "Bot" else ("Organization" if type == "Organization" else "User")
    return {
        "login": login,
        "id": user_id,
        "node_id": legacy_node_id(kind, user_id),
        "avatar_url": f"{urls.web}/avatars/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{urllib.parse.quote(login)}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": type,
        "user_view_type": "public",
        "site_admin": site_admin,
    }


def repo_object(
    urls: Urls,
    *,
    owner: JSON,
    name: str,
    repo_id: int,
    private: bool = False,
    default_branch: str = "main",
    description: str | None = None,
    fork: bool = False,
    created_at: float = 0.0,
    pushed_at: float = 0.0,
    permissions: JSON | None = None,
    full: bool = False,
) -> JSON:
    """A `repository` object, or with `full` a `full-repository` (as `GET /repos/{owner}/{repo}`
    answers: with `subscribers_count`, `network_count` and, for an organisation, `organization`).
    `permissions` (`admin`, `maintain`, `push`, `triage`, `pull`) are those of the caller."""
    full_name = f"{owner['login']}/{name}"
    api, web = urls.repo_api(full_name), urls.repo_web(full_name)
    git_host = urllib.parse.urlsplit(urls.web).netloc
    repo: JSON = {
        "id": repo_id,
        "node_id": legacy_node_id("Repository", repo_id),
        "name": name,
        "full_name": full_name,
        "private": private,
        "owner": owner,
        "html_url": web,
        "description": description,
        "fork": fork,
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": iso(created_at),
        "updated_at": iso(pushed_at),
        "pushed_at": iso(pushed_at),
        "git_url": f"git://{git_host}/{full_name}.git",
        "ssh_url": f"git@{git_host.split(':')[0]}:{full_name}.git",
        "clone_url": f"{web}.git",
        "svn_url": web,
        "homepage": None,
        "size": 108,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 0,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if private else "public",
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": default_branch,
    }
    if permissions is not None:
        repo["permissions"] = permissions
    if full:
        repo.update(
            allow_squash_merge=True,
            allow_merge_commit=True,
            allow_rebase_merge=True,
            allow_auto_merge=False,
            delete_branch_on_merge=False,
            temp_clone_token=None,
            network_count=0,
            subscribers_count=0,
            custom_properties={},
        )
        if owner["type"] == "Organization":
            repo["organization"] = owner
    return repo


def label_object(urls: Urls, full_name: str, name: str, label_id: int) -> JSON:
    """A `label` object for a label called `name`."""
    return {
        "id": label_id,
        "node_id": legacy_node_id("Label", label_id),
        "url": f"{urls.repo_api(full_name)}/labels/{urllib.parse.quote(name)}",
        "name": name,
        "description": None,
        "color": "ededed",
        "default": False,
    }


def reactions_object(url: str) -> JSON:
    """An empty `reaction-rollup` for the object at API `url`."""
    counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
    return {"url": f"{url}/reactions", "total_count": 0, **counts}
