"""Which images of a thread are shown to the model, and where in the first message."""

from __future__ import annotations

import base64

from runner.errors import PlatformError
from runner.flow.images import PromptImage, gather_images, image_urls, prompt_content
from runner.sanitize import clean_untrusted

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8


def test_only_images_a_reader_sees_are_found() -> None:
    body = (
        "See ![a](https://h/a.png) and <img src='https://h/b.png'>.\n\n"
        "<!-- ![c](https://h/c.png) -->\n\n"
        '<div hidden><img src="https://h/d.png"></div>\n\n'
        "`![e](https://h/e.png)`\n\n"
        "```\n![f](https://h/f.png)\n```\n\n"
        "![a again](https://h/a.png)\n"
    )
    assert image_urls(clean_untrusted(body)) == ["https://h/a.png", "https://h/b.png"]


def test_gather_skips_other_hosts_failures_and_non_images() -> None:
    log: list[str] = []

    def download(url: str, cap: int) -> bytes | None:
        if "elsewhere" in url:
            return None
        if "broken" in url:
            raise PlatformError("could not download: HTTP 500")
        return b"<html>" if "page" in url else PNG

    texts = ["![](https://host/ok) ![](https://elsewhere/x) ![](https://host/broken) ![](https://host/page)"]
    images = gather_images(texts, download, log.append)
    assert [(i.url, i.media_type) for i in images] == [("https://host/ok", "image/png")]
    assert len(log) == 3 and "not an attachment of this host" in log[0]


def test_image_blocks_follow_the_text_that_shows_them() -> None:
    prompt = "<request>\nlook\n</request>\nA: ![](u1)\nB: ![](u2)\nend"
    images = [
        PromptImage("u2", "image/png", PNG),
        PromptImage("u1", "image/png", PNG),
        PromptImage("u3", "image/gif", b"GIF89a"),
    ]
    blocks = prompt_content(prompt, images)
    kinds = [b["type"] if b["type"] == "image" else b["text"] for b in blocks]
    assert kinds == [
        "<request>\nlook\n</request>",
        "\nImage u3:",  # not shown by the text (the request is plain text): right after the request
        "image",
        "\nA: ![](u1)",
        "image",
        "\nB: ![](u2)",
        "image",
        "\nend",
    ]
    assert base64.b64decode(blocks[4]["source"]["data"]) == PNG
    assert "".join(b.get("text", "") for b in blocks if not b.get("text", "").startswith("\nImage")) == prompt
