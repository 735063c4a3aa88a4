"""Which URLs are the host's own attachments, and how a download stays on the host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner.platforms.attachments import (
    AttachmentError,
    download,
    github_redirect_ok,
    gitlab_upload,
    is_github_attachment,
)

ASSET = "https://github.com/user-attachments/assets/0f3c2a9e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (ASSET, True),
        (ASSET.replace("https://", "http://"), False),
        (ASSET + "?x=1", False),
        (ASSET.replace("github.com", "github.com.evil.test"), False),
        ("https://github.com/user-attachments/files/123/report.pdf", False),
        ("https://github.com/user-attachments/assets/../../login", False),
        ("https://evil.test/user-attachments/assets/0f3c2a9e", False),
        ("https://user-images.githubusercontent.com/1/2.png", False),
    ],
)
def test_only_user_attachments_on_the_server_count(url: str, ok: bool) -> None:
    assert is_github_attachment(url, "https://github.com") is ok


def test_ghes_attachments_are_on_its_own_host() -> None:
    assert is_github_attachment("https://ghe.corp/user-attachments/assets/abc-1", "https://ghe.corp")
    assert not is_github_attachment(ASSET, "https://ghe.corp")


def test_redirects_only_to_githubs_signed_url_hosts() -> None:
    assert github_redirect_ok(
        "https://private-user-images.githubusercontent.com/1/x.png?jwt=y", "https://github.com"
    )
    assert not github_redirect_ok("http://private-user-images.githubusercontent.com/x", "https://github.com")
    assert not github_redirect_ok("https://evil.test/x", "https://github.com")
    assert not github_redirect_ok("https://x.githubusercontent.com/x", "https://ghe.corp")


@pytest.mark.parametrize(
    ("url", "found"),
    [
        (
            "/uploads/0123456789abcdef0123456789abcdef/screen%20shot.png",
            ("0123456789abcdef0123456789abcdef", "screen shot.png"),
        ),
        ("https://gitlab.test/group/proj/uploads/0123456789abcdef/a.png", ("0123456789abcdef", "a.png")),
        ("https://gitlab.test/-/project/5/uploads/0123456789abcdef/a.png", ("0123456789abcdef", "a.png")),
        ("https://gitlab.test/other/proj/uploads/0123456789abcdef/a.png", None),
        ("https://elsewhere.test/group/proj/uploads/0123456789abcdef/a.png", None),
        ("/uploads/notasecret/a.png", None),
        ("/uploads/0123456789abcdef/a.png?x", None),
        ("../uploads/0123456789abcdef/a.png", None),
    ],
)
def test_gitlab_uploads_of_this_project_only(url: str, found: tuple[str, str] | None) -> None:
    assert gitlab_upload(url, "https://gitlab.test", "group/proj") == found


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str]], dict[str, Any]]]:
    seen: list[tuple[str, str]] = []
    routes: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("authorization", "")))
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen, routes
    httpd.shutdown()
    httpd.server_close()


def test_a_redirect_elsewhere_is_refused_and_the_token_stays_home(server) -> None:  # type: ignore[no-untyped-def]
    base, seen, routes = server
    other = base.replace("127.0.0.1", "localhost")
    routes["/a"] = (302, {"location": f"{other}/b"}, b"")
    routes["/b"] = (200, {"content-type": "image/png"}, b"\x89PNG\r\n\x1a\n")
    auth = {"Authorization": "token secret"}
    with pytest.raises(AttachmentError, match="refused a redirect"):
        download(f"{base}/a", auth=auth, may_follow=lambda url: url.startswith(base), max_bytes=100)
    body, kind = download(f"{base}/a", auth=auth, may_follow=lambda url: True, max_bytes=100)
    assert body.startswith(b"\x89PNG") and kind == "image/png"
    assert seen[-1] == ("/b", "")  # followed to the other origin without the token
    assert seen[0] == ("/a", "token secret")


def test_size_cap_and_type_are_checked(server) -> None:  # type: ignore[no-untyped-def]
    base, _, routes = server
    routes["/big"] = (200, {"content-type": "image/png"}, b"x" * 101)
    routes["/page"] = (200, {"content-type": "text/html"}, b"<html>")
    with pytest.raises(AttachmentError, match="over the 100-byte cap"):
        download(f"{base}/big", auth={}, may_follow=lambda url: False, max_bytes=100)
    with pytest.raises(AttachmentError, match="text/html, not an image"):
        download(f"{base}/page", auth={}, may_follow=lambda url: False, max_bytes=100)
