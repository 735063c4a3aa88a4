"""Images in a thread's description and comments, shown to the model next to where they appear.

Only what a reader of the page sees counts: the text has been through ``runner/text/`` first,
so an image inside an HTML comment, a hidden element or a code span is not there to find. Only
the code host's own attachments are fetched (the adapter decides, ``download_image``); an image
on any other host is never requested. Each is capped at ``MAX_IMAGE_BYTES`` (what the Messages
API takes once base64-encoded) and must be a PNG, JPEG, GIF or WebP by its content.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from runner.agent.tools.files import MAX_IMAGE_BYTES, sniff_media_type
from runner.errors import PlatformError

MAX_IMAGES = 20  # per run: each costs up to ~1,600 input tokens on every turn

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class PromptImage:
    """One downloaded image: where the text shows it, and its content."""

    url: str
    media_type: str
    data: bytes

    def block(self) -> dict[str, Any]:
        """The Messages API image block."""
        source = {
            "type": "base64",
            "media_type": self.media_type,
            "data": base64.b64encode(self.data).decode(),
        }
        return {"type": "image", "source": source}


def image_urls(visible: str) -> list[str]:
    """The images in ``visible`` (markdown a reader sees, from ``runner/text/``), in order, once each."""
    if "![" not in visible:
        return []
    from markdown_it import MarkdownIt

    urls: list[str] = []
    for token in MarkdownIt("commonmark").parse(visible):
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            if isinstance(src, str) and src and src not in urls:
                urls.append(src)
    return urls


def gather_images(
    texts: Iterable[str],
    download: Callable[[str, int], bytes | None],
    log: Callable[[str], None],
) -> list[PromptImage]:
    """Download the host's own images in ``texts``; others are skipped, failures logged and skipped."""
    images: list[PromptImage] = []
    tried: set[str] = set()
    for text in texts:
        for url in image_urls(text):
            if url in tried:
                continue
            tried.add(url)
            if len(images) >= MAX_IMAGES:
                log(f"image skipped: more than {MAX_IMAGES} in the thread ({url})")
                continue
            try:
                data = download(url, MAX_IMAGE_BYTES)
            except PlatformError as exc:
                log(f"image skipped: {exc}")
                continue
            if data is None:
                log(f"image not fetched: {url} is not an attachment of this host")
                continue
            media_type = sniff_media_type(data[:16])
            if media_type not in IMAGE_TYPES:
                log(f"image skipped: {url} is not a PNG, JPEG, GIF or WebP image")
                continue
            images.append(PromptImage(url, media_type, data))
    return images


REQUEST_END = "</request>"


def prompt_content(prompt: str, images: Iterable[PromptImage]) -> list[dict[str, Any]]:
    """The first message's content: ``prompt``'s text with each image's block right after the
    place the text shows it (``![](url)``). An image the text does not show (the request is
    plain text) goes right after the request, labelled with its URL, or else at the end."""
    cuts: list[tuple[int, int, dict[str, Any]]] = []  # (position, order, block)
    request_end = prompt.find(REQUEST_END)
    fallback = request_end + len(REQUEST_END) if request_end >= 0 else len(prompt)
    for order, image in enumerate(images):
        marker = f"![]({image.url})"
        at = prompt.find(marker)
        if at < 0:
            cuts.append((fallback, order, {"type": "text", "text": f"\nImage {image.url}:"}))
            cuts.append((fallback, order, image.block()))
            continue
        cuts.append((at + len(marker), order, image.block()))
    cuts.sort(key=lambda cut: (cut[0], cut[1]))
    blocks: list[dict[str, Any]] = []
    start = 0
    for position, _, block in cuts:
        if position > start:
            blocks.append({"type": "text", "text": prompt[start:position]})
            start = position
        blocks.append(block)
    if start < len(prompt) or not blocks:
        blocks.append({"type": "text", "text": prompt[start:]})
    return blocks


def with_images(prompt: str, images: list[PromptImage]) -> tuple[dict[str, Any], ...]:
    """``prompt_content`` as the tuple ``AgentSpec.prompt_content`` holds; empty without images."""
    return tuple(prompt_content(prompt, images)) if images else ()
