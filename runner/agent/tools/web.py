"""WebFetch: one web page, as markdown, for the model to read.

Only over HTTPS (``http://`` is upgraded), to public addresses: the host is resolved once, every
address it has must be public (no loopback, private, link-local, multicast or reserved range:
a fetch must not reach the runner's own network or a cloud metadata service), and the
connection goes to the checked address (no second lookup an attacker's DNS could answer
differently). With the OS sandbox filtering the network, the host must also be one of its
``allowedDomains``. Redirects on the same host are followed (at most ``MAX_REDIRECTS``, each
checked again); a redirect to another host is told to the model, which must fetch it with a
new call, so permission rules see every host. At most ``MAX_DOWNLOAD_BYTES`` are read and
``MAX_MARKDOWN_CHARS`` returned. The ``prompt`` is not run through a second model: the page
comes back with the prompt as a note, and the model applies it itself.

HTML is turned into markdown by markdownify (BeautifulSoup with the standard library's parser).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from runner.agent.netproxy import DomainRules
from runner.agent.tools.base import Tool, ToolContext, ToolError, ToolResult, str_arg

MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024
MAX_MARKDOWN_CHARS = 100_000
MAX_REDIRECTS = 10
MAX_URL_CHARS = 2000
TIMEOUT_S = 30.0  # to connect, and for each read
TOTAL_TIMEOUT_S = 120.0  # for the whole download
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml")
_USER_AGENT = "claude-runner-webfetch/1"


@dataclass(frozen=True)
class WebAccess:
    """What WebFetch may reach beyond the permission rules."""

    domains: DomainRules | None = None  # the OS sandbox's network rules, when it filters the network
    allow_private: bool = False  # tests only: loopback servers, plain http to them


def _checked_address(host: str, port: int, access: WebAccess) -> str:
    """The address to connect to, after every address of ``host`` was checked."""
    if access.domains is not None and not access.domains.allows(host):
        raise ToolError(f"{host} is not in the sandbox's network allowedDomains; WebFetch reaches only those")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolError(f"could not resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ToolError(f"could not resolve {host}")
    if not access.allow_private:
        for text in addresses:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(text.split("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
            if not ip.is_global or ip.is_multicast:
                raise ToolError(
                    f"refusing to fetch {host}: it resolves to {text}, a private, loopback or reserved "
                    "address"
                )
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_S)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), TIMEOUT_S)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT_S, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), TIMEOUT_S)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass
class _Page:
    url: str
    status: int
    content_type: str
    body: bytes
    truncated: bool
    redirect: str | None = None  # another host's URL the server sent us to


def _normalise(url: str, access: WebAccess) -> str:
    if len(url) > MAX_URL_CHARS:
        raise ToolError(f"the URL is longer than {MAX_URL_CHARS} characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError("url must be an http(s) URL with a host, e.g. https://example.com/page")
    if parts.username or parts.password:
        raise ToolError("url must not carry a user name or password")
    if parts.scheme == "http" and not access.allow_private:
        parts = parts._replace(scheme="https")
    return parts.geturl()


def _get(url: str, access: WebAccess) -> _Page:
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _checked_address(host, port, access)
        conn_type = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = conn_type(host, port, address)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request(
                "GET",
                path,
                headers={
                    "User-Agent": _USER_AGENT,
                    "Accept": "text/html, text/*;q=0.9, */*;q=0.1",
                    "Accept-Encoding": "identity",
                },
            )
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                target = _normalise(urljoin(url, response.getheader("Location", "")), access)
                moved = urlsplit(target)
                if (moved.hostname, moved.port or (443 if moved.scheme == "https" else 80)) != (host, port):
                    return _Page(url, response.status, "", b"", False, redirect=target)
                url = target
                continue
            body = _read_capped(response)
            content_type = response.getheader("Content-Type", "") or ""
            return _Page(
                url, response.status, content_type, body[:MAX_DOWNLOAD_BYTES], len(body) > MAX_DOWNLOAD_BYTES
            )
        except (OSError, http.client.HTTPException) as exc:
            raise ToolError(f"could not fetch {url}: {exc}") from exc
        finally:
            conn.close()
    raise ToolError(f"more than {MAX_REDIRECTS} redirects; stopped at {url}")


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    """At most ``MAX_DOWNLOAD_BYTES`` + 1 bytes, within ``TOTAL_TIMEOUT_S``: a server that drips
    its page byte by byte must not hold the run (each read alone has ``TIMEOUT_S``)."""
    end = time.monotonic() + TOTAL_TIMEOUT_S
    body = bytearray()
    while len(body) <= MAX_DOWNLOAD_BYTES:
        if time.monotonic() > end:
            raise ToolError(f"the page took longer than {TOTAL_TIMEOUT_S:g} s to download")
        chunk = response.read1(min(65536, MAX_DOWNLOAD_BYTES + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _text(page: _Page) -> str:
    media = page.content_type.split(";")[0].strip().lower()
    if media and not media.startswith(_TEXT_TYPES):
        raise ToolError(f"{page.url} is {media}, not a web page or text; WebFetch reads text only")
    charset = "utf-8"
    for param in page.content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        text = page.body.decode(charset, "replace")
    except LookupError:
        text = page.body.decode("utf-8", "replace")
    if media in ("text/html", "application/xhtml+xml") or (not media and "<html" in text[:1000].lower()):
        text = _markdown(text)
        text = "\n".join(line.rstrip() for line in text.splitlines())
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _markdown(html: str) -> str:
    # Imported when used: they cost start-up time and only WebFetch needs them.
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["head", "script", "style", "noscript", "iframe", "template", "svg"]):
        tag.decompose()  # not shown on the page: their text is noise, or worse
    return str(MarkdownConverter(heading_style="ATX").convert_soup(soup))


class WebFetch(Tool):
    """Claude Code's WebFetch: a page as markdown."""

    name: ClassVar[str] = "WebFetch"
    description: ClassVar[str] = (
        "Fetch a web page over HTTPS and return its content as markdown (at most 100000 characters), "
        "with your prompt repeated as a reminder of what to look for. A redirect to another host is "
        "reported: fetch the new URL with another call."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri", "description": "The URL to fetch"},
            "prompt": {"type": "string", "description": "What to find in the page"},
        },
        "required": ["url", "prompt"],
        "additionalProperties": False,
    }
    read_only: ClassVar[bool] = False  # it reaches the network: only an allow rule offers it

    def run(self, args: Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Fetch, convert, cap."""
        access = ctx.web or WebAccess()
        url = _normalise(str_arg(args, "url"), access)
        prompt = str_arg(args, "prompt")
        page = _get(url, access)
        if page.redirect is not None:
            return ToolResult(
                f"{url} redirected (HTTP {page.status}) to another host: {page.redirect}\n"
                "To read it, call WebFetch again with that URL."
            )
        text = _text(page)
        notes = []
        if page.truncated:
            notes.append(f"only the first {MAX_DOWNLOAD_BYTES:,} bytes were downloaded")
        if len(text) > MAX_MARKDOWN_CHARS:
            text = text[:MAX_MARKDOWN_CHARS]
            notes.append(f"cut to {MAX_MARKDOWN_CHARS:,} characters")
        head = f"Content of {page.url} (HTTP {page.status})"
        if notes:
            head += f" [{'; '.join(notes)}]"
        result = f"{head}:\n\n{text or '(empty page)'}\n\n---\nYour prompt for this page: {prompt}"
        return ToolResult(result, is_error=page.status >= 400)
