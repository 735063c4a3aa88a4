"""Downloading an image attached to a comment, from the code host's own servers only.

A comment's author chooses its URLs: fetching any of them with the runner's network (or,
worse, its token) would let a comment probe internal services or leak the token. So the
adapter decides first whether a URL is one of its host's attachments (``is_github_attachment``,
``gitlab_upload``); only then is it fetched, with the token sent to the host's own origin and
nowhere else, redirects followed only to hosts the adapter names, and the body cut off at a cap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote, urljoin, urlsplit

from runner.errors import PlatformError

MAX_REDIRECTS = 3
TIMEOUT_S = 20.0
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_GITHUB_ASSET = re.compile(r"/user-attachments/assets/[A-Za-z0-9-]{1,64}")
_GITLAB_UPLOAD = re.compile(r"/uploads/(?P<secret>[0-9a-f]{10,64})/(?P<name>[^/?#]{1,255})")


class AttachmentError(PlatformError):
    """An attachment that could not be downloaded (too big, not an image, refused)."""


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_github_attachment(url: str, server_url: str) -> bool:
    """Whether ``url`` is an image uploaded to ``server_url`` (github.com or a GHES host):
    ``<server>/user-attachments/assets/<id>``, nothing else."""
    parts = urlsplit(url)
    return (
        origin(url) == origin(server_url)
        and not parts.query
        and not parts.fragment
        and _GITHUB_ASSET.fullmatch(parts.path) is not None
    )


def github_redirect_ok(url: str, server_url: str) -> bool:
    """Where GitHub may send an attachment download: its own origin, or (github.com) its
    signed-URL hosts under ``githubusercontent.com``, over https."""
    parts = urlsplit(url)
    if origin(url) == origin(server_url):
        return True
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and urlsplit(server_url).hostname == "github.com"
        and host.endswith(".githubusercontent.com")
    )


def gitlab_upload(url: str, gitlab_url: str, project_path: str | None) -> tuple[str, str] | None:
    """``(secret, filename)`` when ``url`` is an upload of this project: ``/uploads/<secret>/<file>``
    as GitLab writes it in markdown, or the same under ``<gitlab>/<project path>`` or
    ``<gitlab>/-/project/<id>``; None for anything else."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return None
    path = parts.path
    if parts.scheme or parts.netloc:
        if origin(url) != origin(gitlab_url):
            return None
        base = urlsplit(gitlab_url).path.rstrip("/")
        path = path[len(base) :] if path.startswith(base + "/") else ""
        prefixes = [f"/{project_path}"] if project_path else []
        prefix = next((p for p in prefixes if path.startswith(p + "/uploads/")), None)
        if prefix is None and (m := re.match(r"/-/project/\d+(?=/uploads/)", path)):
            prefix = m.group(0)
        if prefix is None:
            return None
        path = path[len(prefix) :]
    match = _GITLAB_UPLOAD.fullmatch(path)
    if match is None or ".." in match["name"]:
        return None
    return match["secret"], unquote(match["name"])


def download(
    url: str,
    *,
    auth: Mapping[str, str],
    may_follow: Callable[[str], bool],
    max_bytes: int,
    timeout_s: float = TIMEOUT_S,
) -> tuple[bytes, str]:
    """The body and content type of ``url``; ``auth`` headers go to ``url``'s origin only.

    Redirects are followed (at most ``MAX_REDIRECTS``) only where ``may_follow`` says; a body
    over ``max_bytes`` or a type that is not PNG, JPEG, GIF or WebP raises ``AttachmentError``.
    """
    import requests

    home = origin(url)
    with requests.Session() as session:
        session.trust_env = False  # no proxy or netrc credentials from the runner's environment
        for _ in range(MAX_REDIRECTS + 1):
            headers = dict(auth) if origin(url) == home else {}
            try:
                response = session.get(
                    url, headers=headers, stream=True, allow_redirects=False, timeout=timeout_s
                )
            except requests.RequestException as exc:
                raise AttachmentError(f"could not download {url}: {type(exc).__name__}") from exc
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    if not may_follow(url):
                        raise AttachmentError(f"refused a redirect to {origin(url)}")
                    continue
                if response.status_code != 200:
                    raise AttachmentError(f"could not download {url}: HTTP {response.status_code}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind not in (*IMAGE_TYPES, "application/octet-stream", ""):
                    raise AttachmentError(f"{url} is {kind}, not an image")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise AttachmentError(f"{url} is {declared:,} bytes, over the {max_bytes:,}-byte cap")
                body = bytearray()
                for chunk in response.iter_content(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise AttachmentError(f"{url} is over the {max_bytes:,}-byte cap")
                return bytes(body), kind
        raise AttachmentError(f"too many redirects for {url}")


def github_image(url: str, server_url: str, token: str, max_bytes: int) -> bytes | None:
    """An image attached on GitHub (``is_github_attachment``), or None for any other URL (not fetched)."""
    if not is_github_attachment(url, server_url):
        return None
    body, _ = download(
        url,
        auth={"Authorization": f"token {token}"},
        may_follow=lambda to: github_redirect_ok(to, server_url),
        max_bytes=max_bytes,
    )
    return body


def gitlab_image(
    url: str, gitlab_url: str, project: str, token: str | None, job_token: str | None, max_bytes: int
) -> bytes | None:
    """An upload of GitLab project ``project`` (its path), through the API's uploads endpoint with
    ``token`` (else ``job_token``), or None for any other URL (not fetched)."""
    upload = gitlab_upload(url, gitlab_url, project)
    if upload is None:
        return None
    auth = {"PRIVATE-TOKEN": token} if token else {"JOB-TOKEN": job_token or ""}
    secret, name = upload
    project_id = quote(project, safe="")
    api = f"{gitlab_url.rstrip('/')}/api/v4/projects/{project_id}/uploads/{secret}/{quote(name, safe='')}"
    body, _ = download(
        api, auth=auth, may_follow=lambda to: origin(to) == origin(gitlab_url), max_bytes=max_bytes
    )
    return body
