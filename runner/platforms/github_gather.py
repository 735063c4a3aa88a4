"""A GitHub issue or pull request and everything around it, gathered in a few round trips.

Sequentially, a thread costs one round trip per page: 46 for 3,000 files and 1,000 comments.
Here the independent reads go out together and every page after the first goes out as soon as
the first says how many there are:

1. the issue, the pull request, the first page of conversation comments (GraphQL, with its
   total), and the first page of reviews, review comments and files (REST, 100 a page);
2. every further page at once: REST's ``page=N`` up to the ``rel="last"`` of the first page's
   ``Link`` (a list without one is followed page by page, as before); conversation comments past
   the first 100 over REST, by their position (REST and GraphQL both list them oldest first);
3. for those comments, what only GraphQL says (minimized, last edited), 100 ids a query, each
   sent as soon as its REST page is in.

At most ``workers`` requests are in flight (GitHub's secondary limits allow 100 concurrent
requests), the most urgent first; each worker has its own connection (``GitHubClient.github``).
The result is the one a sequential gather makes: the same items, in the same order.
"""

from __future__ import annotations

import itertools
import math
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from runner.errors import PlatformError
from runner.platforms.base import ChangedFile, ThreadComment, ThreadData
from runner.platforms.github_client import PER_PAGE, GitHubClient
from runner.platforms.github_data import (
    COMMENTS_QUERY,
    MINIMIZED_QUERY,
    graphql_comment,
    label_names,
    last_page,
    login_of,
    next_link,
    pull_fields,
    rest_changed_file,
    rest_issue_comment,
    rest_review,
    rest_review_comment,
)

WORKERS = 24  # requests in flight at once: a 3,000-file pull request in 4 round trips
# Which requests go first when more wait than there are workers: the first pages (their answers
# start everything else), then chains (a comment page and its GraphQL lookup, pages followed one by
# one), then single pages.
FIRST, CHAIN, PAGE = 0, 1, 2

Page = list[dict[str, Any]]
T = TypeVar("T")


class _Pool:
    """``workers`` threads running requests, most urgent first (a request whose answer starts
    more requests goes before one that ends a chain); requests may add requests; the first
    failure ends the wait."""

    def __init__(self, workers: int) -> None:
        self.queue: queue.PriorityQueue[tuple[int, int, Callable[[], None]]] = queue.PriorityQueue()
        self.order = itertools.count()
        self.changed = threading.Condition()
        self.outstanding = 0
        self.error: BaseException | None = None
        self.closed = False
        self.threads = [
            threading.Thread(target=self._work, name=f"gather-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, fn: Callable[[], T], urgency: int = PAGE) -> Future[T]:
        """Run ``fn`` on a worker, lower ``urgency`` first (counted now: ``drain`` waits for it)."""
        future: Future[T] = Future()

        def run() -> None:
            if self.error is not None or self.closed:  # a request failed, or no one waits: not sent
                future.cancel()
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller by drain()
                future.set_exception(exc)

        with self.changed:
            self.outstanding += 1
        future.add_done_callback(self._done)
        self.queue.put((urgency, next(self.order), run))
        return future

    def _work(self) -> None:
        while True:
            _, _, run = self.queue.get()
            if run is _STOP:
                return
            run()

    def _done(self, future: Future[Any]) -> None:
        with self.changed:
            self.outstanding -= 1
            if not future.cancelled() and self.error is None:
                self.error = future.exception()
            self.changed.notify_all()

    def drain(self) -> None:
        """Wait until every request (and those they added) is done; raise the first failure."""
        with self.changed:
            self.changed.wait_for(lambda: self.outstanding == 0 or self.error is not None)
            if self.error is not None:
                raise self.error

    def close(self) -> None:
        """Stop the workers: what is queued is dropped, what runs ends on its own (the caller does
        not wait for it: after a failure or a signal, a request may still be on its timeout)."""
        self.closed = True
        for _ in self.threads:
            self.queue.put((sys.maxsize, next(self.order), _STOP))


def _STOP() -> None:
    """The marker that ends a worker."""


class Pool(Protocol):
    """Where the gather's requests run: ``_Pool`` (threads); a test may run them in rounds."""

    def submit(self, fn: Callable[[], T], urgency: int = PAGE) -> Future[T]: ...

    def drain(self) -> None: ...

    def close(self) -> None: ...


def gather_thread(
    client: GitHubClient,
    repo_full_name: str,
    number: int,
    is_pull_request: bool,
    *,
    workers: int = WORKERS,
    pool: Pool | None = None,
) -> ThreadData:
    """Issue or PR ``number`` with its comments, reviews, review comments and files, every page,
    with at most ``workers`` requests in flight (on ``pool`` when given)."""
    before = client.requests
    client.github  # noqa: B018 - the calling thread's client exists before the workers start
    repo = f"/repos/{repo_full_name}"
    pool = pool if pool is not None else _Pool(workers)
    try:
        issue = pool.submit(lambda: client.get("read the issue", f"{repo}/issues/{number}"), FIRST)
        conversation = _Conversation(client, pool, repo_full_name, number)
        pull: Future[Any] | None = None
        lists: dict[str, _List] = {}
        if is_pull_request:
            path = f"{repo}/pulls/{number}"
            pull = pool.submit(lambda: client.get("read the pull request", path), FIRST)
            for key, what in (("reviews", "reviews"), ("comments", "comments"), ("files", "files")):
                lists[key] = _List(client, pool, f"list {what}", f"{path}/{key}")
        conversation.start()
        for listing in lists.values():
            listing.start()
        pool.drain()
        comments = conversation.result()
        fields = pull_fields(pull.result(), repo_full_name) if pull is not None else {}
        if is_pull_request:
            comments += [rest_review(r) for r in lists["reviews"].result()]
            comments += [rest_review_comment(c) for c in lists["comments"].result()]
        files: list[ChangedFile] = [rest_changed_file(f) for f in lists["files"].result()] if lists else []
        data = issue.result()
    finally:
        pool.close()
    comments.sort(key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC))
    return ThreadData(
        number=number,
        is_pull_request=is_pull_request,
        title=data.get("title") or "",
        body=data.get("body") or "",
        author=login_of(data.get("user")),
        state=data.get("state") or "open",
        labels=label_names(data.get("labels")),
        comments=tuple(comments),
        files=tuple(files),
        api_requests=client.requests - before,
        **fields,
    )


class _List:
    """Every page of one REST list: page 1, then the rest at once up to ``rel="last"``."""

    def __init__(self, client: GitHubClient, pool: Pool, what: str, path: str) -> None:
        self.client, self.pool, self.what, self.path = client, pool, what, path
        self.pages: dict[int, Future[Page]] = {}
        self.tail: Future[Page] | None = None  # pages followed by `next` links (no `last` given)

    def start(self) -> None:
        self.pages[1] = self.pool.submit(self._first, FIRST)

    def _first(self) -> Page:
        headers, items = self._get({"per_page": PER_PAGE, "page": 1})
        link = headers.get("link", "")
        last = last_page(link)
        if last is not None:
            for page in range(2, last + 1):
                self.pages[page] = self.pool.submit(partial(self._items, page))
        elif (url := next_link(link)) is not None:
            follow = partial(self.client.call, self.what, self.client.fetch_pages, url)
            self.tail = self.pool.submit(follow, CHAIN)
        return list(items)

    def _items(self, page: int) -> Page:
        return list(self._get({"per_page": PER_PAGE, "page": page})[1])

    def _get(self, params: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        return self.client.call(self.what, self.client.request, "GET", self.path, None, params)

    def result(self) -> Page:
        items: Page = []
        for page in sorted(self.pages):
            items += self.pages[page].result()
        if self.tail is not None:
            items += self.tail.result()
        return items


class _Conversation:
    """The conversation comments: GraphQL's first page (it says whether each is minimized), then
    REST's pages past it at once, each followed by one GraphQL query for those comments."""

    def __init__(self, client: GitHubClient, pool: Pool, repo_full_name: str, number: int) -> None:
        self.client, self.pool, self.number = client, pool, number
        owner, name = repo_full_name.split("/", 1)
        self.variables: dict[str, Any] = {"owner": owner, "name": name, "number": number, "after": None}
        self.rest_path = f"/repos/{repo_full_name}/issues/{number}/comments"
        self.first: Future[list[ThreadComment]] | None = None
        self.pages: dict[int, Future[list[ThreadComment]]] = {}
        self.tail: Future[list[ThreadComment]] | None = None

    def start(self) -> None:
        self.first = self.pool.submit(self._first, FIRST)

    def _graphql_page(self) -> tuple[list[ThreadComment], dict[str, Any]]:
        data = self.client.graphql("list comments", COMMENTS_QUERY, self.variables)
        thread = (data.get("repository") or {}).get("issueOrPullRequest") or {}
        page = thread.get("comments")
        if page is None:
            raise PlatformError(f"GitHub could not list comments: no issue or pull request #{self.number}")
        # ``databaseId`` may be null in the schema: such a node could not be answered or edited.
        found = [graphql_comment(n) for n in page["nodes"] if n and n.get("databaseId") is not None]
        return found, page

    def _first(self) -> list[ThreadComment]:
        found, page = self._graphql_page()
        if page["pageInfo"]["hasNextPage"]:
            total = page.get("totalCount")
            if isinstance(total, int) and total > PER_PAGE:
                for number in range(2, math.ceil(total / PER_PAGE) + 1):
                    self.pages[number] = self.pool.submit(partial(self._rest_page, number), CHAIN)
            else:  # no usable total: follow GraphQL's cursors, one page after another
                self.tail = self.pool.submit(partial(self._follow, page["pageInfo"]["endCursor"]), CHAIN)
        return found

    def _rest_page(self, number: int) -> list[ThreadComment]:
        params = {"per_page": PER_PAGE, "page": number}
        _, items = self.client.call("list comments", self.client.request, "GET", self.rest_path, None, params)
        if not items:
            return []
        ids = [str(c["node_id"]) for c in items]
        data = self.client.graphql("list comments", MINIMIZED_QUERY, {"ids": ids}, missing_ok=True)
        nodes = {n["databaseId"]: n for n in data.get("nodes") or [] if n and n.get("databaseId")}
        # A comment GraphQL no longer finds was deleted meanwhile: it is left out, as it would be.
        return [rest_issue_comment(c, nodes[c["id"]]) for c in items if c["id"] in nodes]

    def _follow(self, cursor: str) -> list[ThreadComment]:
        found: list[ThreadComment] = []
        variables = {**self.variables, "after": cursor}
        while True:
            data = self.client.graphql("list comments", COMMENTS_QUERY, variables)
            page = ((data.get("repository") or {}).get("issueOrPullRequest") or {}).get("comments") or {}
            nodes = page.get("nodes") or []
            found += [graphql_comment(n) for n in nodes if n and n.get("databaseId") is not None]
            if not (page.get("pageInfo") or {}).get("hasNextPage"):
                return found
            variables["after"] = page["pageInfo"]["endCursor"]

    def result(self) -> list[ThreadComment]:
        assert self.first is not None
        comments = list(self.first.result())
        for number in sorted(self.pages):
            comments += self.pages[number].result()
        if self.tail is not None:
            comments += self.tail.result()
        # A page boundary that moved (a comment deleted meanwhile) repeats one: keep it once.
        unique: dict[int, ThreadComment] = {}
        for comment in comments:
            unique.setdefault(comment.id, comment)
        return list(unique.values())
