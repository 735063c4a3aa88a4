"""Images in a thread reach the model as image blocks next to the comment they came from; only
the code host's own attachments are fetched, never an image on another host."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner.testing.fake_messages import text
from tests.ci.test_github_flow import job, pr_comment_payload  # noqa: F401 (job: a fixture)
from tests.ci.test_gitlab_flow import world  # noqa: F401 (a fixture)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
EARLIER = time.time() - 120  # comments made before the request (later ones are left out)
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """A web server on another host (port): every request it gets is recorded."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def first_message(model) -> list[dict[str, Any]]:
    content = model.requests[0].body["messages"][0]["content"]
    assert isinstance(content, list)
    return content


def test_github_attachments_reach_the_model_next_to_their_comment(job, elsewhere):  # noqa: F811
    external, hits = elsewhere
    job.env_extra["GITHUB_SERVER_URL"] = job.github.base_url  # the host attachments are served from
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    shown = job.github.add_attachment(PNG)
    in_html = job.github.add_attachment(GIF, "image/gif")
    hidden = job.github.add_attachment(PNG)
    job.github.add_comment(5, f"It looks like this: ![screenshot]({shown})", user="carol", created_at=EARLIER)
    job.github.add_comment(
        5, f'<!-- ![]({hidden}) --> and <img src="{in_html}" alt="x">', user="dave", created_at=EARLIER
    )
    job.github.add_comment(5, f"Tracking pixel ![]({external}/pixel.png)", user="mallory", created_at=EARLIER)
    job.model.add_turns([[text("The screenshot shows the wrong sum.")]])
    request = f"@claude what is wrong here? ![]({external}/in-request.png)"
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body=request))
    assert proc.returncode == 0, proc.stderr
    content = first_message(job.model)
    images = [(i, b) for i, b in enumerate(content) if b["type"] == "image"]
    assert [b["source"]["media_type"] for _, b in images] == ["image/png", "image/gif"]
    assert base64.b64decode(images[0][1]["source"]["data"]) == PNG
    # Each right after the text that shows it.
    assert content[images[0][0] - 1]["text"].endswith(f"![]({shown})")
    assert content[images[1][0] - 1]["text"].endswith(f"![]({in_html})")
    assert hits == []  # the other host was never asked, not for the comment's image nor the request's
    fetched = [path for path, _ in job.github.attachment_requests]
    assert len(fetched) == 2 and not any(hidden.endswith(p) for p in fetched)  # hidden: never fetched
    assert all(auth.startswith("token ") for _, auth in job.github.attachment_requests)


def test_an_oversized_or_fake_image_is_skipped_and_the_run_goes_on(job):  # noqa: F811
    job.env_extra["GITHUB_SERVER_URL"] = job.github.base_url
    head = job.remote_branches()["fix-calc"]
    job.github.add_pull(5, head_ref="fix-calc", base_ref="master", head_sha=head, title="Fix calc")
    huge = job.github.add_attachment(PNG + b"\0" * (4 * 1024 * 1024))
    not_image = job.github.add_attachment(b"<html>login</html>", "image/png")
    job.model.add_turns([[text("Seen.")]])
    body = f"@claude look ![]({huge}) ![]({not_image})"
    proc, _, _ = job.run("issue_comment", pr_comment_payload(job, 5, body=body))
    assert proc.returncode == 0, proc.stderr
    assert not [b for b in first_message(job.model) if b["type"] == "image"]
    assert "over the 3,932,160-byte cap" in proc.stdout + proc.stderr


def test_gitlab_uploads_reach_the_model_with_the_runners_token(world, elsewhere):  # noqa: F811
    external, hits = elsewhere
    world.gitlab.add_merge_request("Fix calc", iid=5, source_branch="feature", author="alice")
    upload = world.gitlab.add_upload("screen.png", PNG)
    world.gitlab.add_note(
        "merge_request", 5, f"Broken: ![screen]({upload}) ![]({external}/x.png)", created_at=EARLIER
    )
    world.model.add_turns([[text("I see it.")]])
    proc = world.run(world.note_payload("MergeRequest", 5, "@claude what does the screenshot show?"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    content = first_message(world.model)
    (at,) = [i for i, b in enumerate(content) if b["type"] == "image"]
    assert base64.b64decode(content[at]["source"]["data"]) == PNG
    assert content[at - 1]["text"].endswith(f"![]({upload})")
    assert hits == []
