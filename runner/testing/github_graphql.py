"""GitHub's GraphQL endpoint for the fake (`POST /graphql`; GHES: `POST /api/graphql`), over the
same state as its REST API: a repository's issues and pull requests and their conversation
comments, with what only GraphQL tells (`isMinimized`, `minimizedReason`). Stdlib only.

Not a GraphQL server: a small parser for query documents (one operation, variables, aliases,
arguments, inline fragments) and an executor over `SDL`, a few types of GitHub's schema with its
names, arguments and nullability (`tests/test_github_graphql_schema.py` checks them, the adapter's
query and this fake's answers against the published schema). What it does not know (a field, a
type, a mutation, a named fragment, a directive) is answered as GitHub answers a query its schema
rejects: HTTP 200 and `{"errors": [{"message", "locations", "path", ...}]}`; a lookup that finds
nothing is a null in `data` and an error with GitHub's `type` (`NOT_FOUND`, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.testing.github_endpoints import Reply, Request
from runner.testing.github_model import Comment, Issue
from runner.testing.github_objects import iso, legacy_node_id

if TYPE_CHECKING:
    from runner.testing.fake_github import FakeGitHub

__all__ = ["ARGUMENTS", "FIELDS", "PATHS", "POSSIBLE", "SDL", "cursor", "execute", "serve"]

PATHS = ("/graphql", "/api/graphql")  # github.com: api.github.com/graphql; GHES: {server}/api/graphql
MAX_PAGE = 100  # GitHub's limit on `first` and `last`
SDL = """
type Query {
  repository(owner: String!, name: String!, followRenames: Boolean): Repository  nodes(ids: [ID!]!): [Node]!
}
type Repository implements Node {
  id: ID!  databaseId: Int  name: String!  nameWithOwner: String!
  issueOrPullRequest(number: Int!): IssueOrPullRequest
}
union IssueOrPullRequest = Issue | PullRequest
type Issue implements Node {
  id: ID!  databaseId: Int  number: Int!  title: String!
  comments(after: String, before: String, first: Int, last: Int): IssueCommentConnection!
}
type PullRequest implements Node {
  id: ID!  databaseId: Int  number: Int!  title: String!
  comments(after: String, before: String, first: Int, last: Int): IssueCommentConnection!
}
type IssueCommentConnection {
  edges: [IssueCommentEdge]  nodes: [IssueComment]  pageInfo: PageInfo!  totalCount: Int!
}
type IssueCommentEdge { cursor: String!  node: IssueComment }
type PageInfo { endCursor: String  hasNextPage: Boolean!  hasPreviousPage: Boolean!  startCursor: String }
type IssueComment implements Node {
  id: ID!  databaseId: Int  body: String!  author: Actor  createdAt: DateTime!  updatedAt: DateTime!
  lastEditedAt: DateTime  isMinimized: Boolean!  minimizedReason: String
  authorAssociation: CommentAuthorAssociation!
}
interface Actor { login: String! }
interface Node { id: ID! }
type User implements Actor & Node { id: ID!  databaseId: Int  login: String! }
type Bot implements Actor & Node { id: ID!  databaseId: Int  login: String! }
"""
# Leaf types; `CommentAuthorAssociation` is an enum (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR,
# FIRST_TIMER, FIRST_TIME_CONTRIBUTOR, MANNEQUIN, NONE), answered as its value's name.
SCALARS = {
    "ID": str, "String": str, "Int": int, "Boolean": bool, "DateTime": str, "CommentAuthorAssociation": str,
}  # fmt: skip
# `minimizedReason` is lower case and dashed, unlike the classifier given to `minimizeComment`.
_REASONS = {"OFF_TOPIC": "off-topic"}
_TOKEN = re.compile(
    r"(?P<skip>[\s,\ufeff]+|#[^\n\r]*)|(?P<punct>\.\.\.|[!$&():=@\[\]{}|])|(?P<name>[_A-Za-z]\w*)"
    r'|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<string>"(?:[^"\\\n\r]|\\.)*")'
)
_REF = r"[\w\[\]!]+"


def _load(
    sdl: str,
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], dict[str, str]], dict[str, set[str]]]:
    """Field types per type, argument types per field, and the concrete types of each abstract type."""
    fields: dict[str, dict[str, str]] = {}
    arguments: dict[tuple[str, str], dict[str, str]] = {}
    possible: dict[str, set[str]] = {}
    for name, interfaces, body in re.findall(
        r"(?:type|interface) (\w+)(?: implements ([\w &]+?))? \{([^}]*)\}", sdl
    ):
        for interface in re.findall(r"\w+", interfaces):
            possible.setdefault(interface, set()).add(name)
        fields[name] = {}
        for field_name, args, ref in re.findall(rf"(\w+)(?:\(([^)]*)\))?: ({_REF})", body):
            fields[name][field_name] = ref
            arguments[(name, field_name)] = dict(re.findall(rf"(\w+): ({_REF})", args))
    for name, members in re.findall(r"union (\w+) = ([\w |]+)", sdl):
        fields[name], possible[name] = {}, set(re.findall(r"\w+", members))
    return fields, arguments, possible


FIELDS, ARGUMENTS, POSSIBLE = _load(SDL)


class QueryError(Exception):
    """A GraphQL error: its entry in the response's `errors`."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.entry = {"message": message, **extra}


@dataclass
class Var:
    """A `$variable` used as an argument."""

    name: str


@dataclass
class Field:
    """A field selection: `alias: name(arguments) { selections }`, and where it is in the query."""

    name: str
    alias: str | None
    arguments: dict[str, Any]
    selections: list[Field | Fragment] | None
    location: dict[str, int]

    @property
    def key(self) -> str:
        """The field's key in the response."""
        return self.alias or self.name


@dataclass
class Fragment:
    """An inline fragment, `... on Type { selections }` (without `on`: the enclosing type)."""

    on: str | None
    selections: list[Field | Fragment]


@dataclass
class Operation:
    """The query: its title (the first element of error paths), its variables' types and defaults."""

    title: str = "query"
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    selections: list[Field | Fragment] = field(default_factory=list)


class _Parser:
    """Recursive descent over the tokens of one query document."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i, at = text, [], 0, 0
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None:
                raise self.error(at, repr(text[at]))
            if match.lastgroup != "skip":
                self.tokens.append((match.lastgroup or "", match.group(), at))
            at = match.end()
        self.tokens.append(("end", "", len(text)))

    def location(self, at: int) -> dict[str, int]:
        return {"line": self.text.count("\n", 0, at) + 1, "column": at - self.text.rfind("\n", 0, at)}

    def error(self, at: int, what: str) -> QueryError:
        where = self.location(at)
        return QueryError(f"Parse error on {what} at [{where['line']}, {where['column']}]", locations=[where])

    def accept(self, value: str) -> bool:
        """Take the next token if it is the punctuator or keyword `value`."""
        kind, token, _ = self.tokens[self.i]
        if token != value or kind == "string":
            return False
        self.i += 1
        return True

    def expect(self, kind: str | None = None, value: str | None = None) -> str:
        token_kind, token, at = self.tokens[self.i]
        if (kind and token_kind != kind) or (value and token != value) or token_kind == "end":
            raise self.error(at, repr(token) if token else "end of query")
        self.i += 1
        return token

    def document(self) -> Operation:
        operation = Operation()
        if self.tokens[self.i][1] != "{":
            keyword = self.expect("name")
            if keyword != "query":  # mutation, subscription, fragment
                raise QueryError(f"The fake GitHub serves queries only, not `{keyword}`")
            if self.tokens[self.i][0] == "name":
                operation.title = f"query {self.expect('name')}"
            if self.accept("("):
                while not self.accept(")"):
                    self.expect(value="$")
                    name = self.expect("name")
                    self.expect(value=":")
                    kind = self.type_ref()
                    operation.variables[name] = (kind, self.value() if self.accept("=") else None)
        operation.selections = self.selections()
        if self.tokens[self.i][0] != "end":
            raise QueryError("The fake GitHub serves one operation per document")
        return operation

    def type_ref(self) -> str:
        kind = f"[{self.type_ref()}{self.expect(value=']')}" if self.accept("[") else self.expect("name")
        return kind + "!" if self.accept("!") else kind

    def selections(self) -> list[Field | Fragment]:
        self.expect(value="{")
        chosen: list[Field | Fragment] = []
        while not self.accept("}"):
            if self.tokens[self.i][1] == "@":
                raise QueryError("The fake GitHub does not support directives")
            if self.accept("..."):
                if self.tokens[self.i][1] not in ("on", "{"):
                    raise QueryError("The fake GitHub does not support named fragments")
                on = self.expect("name") if self.accept("on") else None
                chosen.append(Fragment(on, self.selections()))
                continue
            where = self.location(self.tokens[self.i][2])
            name, alias = self.expect("name"), None
            if self.accept(":"):
                name, alias = self.expect("name"), name
            arguments: dict[str, Any] = {}
            if self.accept("("):
                while not self.accept(")"):
                    key = self.expect("name")
                    self.expect(value=":")
                    arguments[key] = self.value()
            inner = self.selections() if self.tokens[self.i][1] == "{" else None
            chosen.append(Field(name, alias, arguments, inner, where))
        return chosen

    def value(self) -> Any:
        kind, token, at = self.tokens[self.i]
        if self.accept("$"):
            return Var(self.expect("name"))
        if self.accept("["):
            items = []
            while not self.accept("]"):
                items.append(self.value())
            return items
        self.expect()
        if kind == "string":
            return json.loads(token)  # GraphQL's string escapes are JSON's
        if kind == "number":
            return float(token) if any(c in token for c in ".eE") else int(token)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(token, token)  # else an enum value
        raise self.error(at, repr(token))  # input objects: no field the fake serves takes one


def _named(ref: str) -> str:
    return ref.strip("[]!")


def _fits(value: Any, ref: str) -> bool:
    """Whether `value` is valid input for the type reference `ref` (scalars and lists of them)."""
    if value is None:
        return not ref.endswith("!")
    ref = ref.removesuffix("!")
    if ref.startswith("["):
        return isinstance(value, list) and all(_fits(v, ref[1:-1]) for v in value)
    expected = SCALARS.get(ref)
    return (
        expected is not None and isinstance(value, expected) and (expected is bool) == (type(value) is bool)
    )


def _check(selections: list[Field | Fragment], kind: str, path: list[str], op: Operation) -> None:
    """Validate `selections` on type `kind` before anything runs, with graphql-ruby's messages."""
    for sel in selections:
        if isinstance(sel, Fragment):
            on = sel.on or kind
            if on not in FIELDS:
                raise QueryError(f"No such type {on}, so it can't be a fragment condition", path=path)
            if on != kind and on not in POSSIBLE.get(kind, ()) and kind not in POSSIBLE.get(on, ()):
                raise QueryError(f"Fragment on {on} can't be spread inside {kind}", path=path)
            _check(sel.selections, on, path, op)
            continue
        where = {"locations": [sel.location], "path": [*path, sel.key]}
        ref = "String!" if sel.name == "__typename" else FIELDS[kind].get(sel.name)
        if ref is None:
            code = {"code": "undefinedField", "typeName": kind, "fieldName": sel.name}
            raise QueryError(f"Field '{sel.name}' doesn't exist on type '{kind}'", **where, extensions=code)
        accepted = ARGUMENTS.get((kind, sel.name), {})
        for arg, value in sel.arguments.items():
            if arg not in accepted:
                raise QueryError(f"Field '{sel.name}' doesn't accept argument '{arg}'", **where)
            if isinstance(value, Var) and value.name not in op.variables:
                message = f"Variable ${value.name} is used by {op.title} but not declared"
                raise QueryError(message, **where, extensions={"code": "variableNotDefined"})
            if not isinstance(value, Var) and not _fits(value, accepted[arg]):
                raise QueryError(f"Argument '{arg}' on Field '{sel.name}' has an invalid value", **where)
        missing = [a for a, t in accepted.items() if t.endswith("!") and a not in sel.arguments]
        if missing:
            raise QueryError(
                f"Field '{sel.name}' is missing required arguments: {', '.join(missing)}", **where
            )
        if (_named(ref) in SCALARS) != (sel.selections is None):
            has = "has selections" if sel.selections is not None else "has no selections"
            raise QueryError(f"Field '{sel.name}' returns {ref} but {has}", **where)
        if sel.selections is not None:
            _check(sel.selections, _named(ref), [*path, sel.key], op)


class _NullBubble(Exception):
    """A non-null field resolved to null: its parent becomes null (GraphQL's null propagation)."""


@dataclass
class _Node:
    """An object of the response: its concrete GraphQL type and the state behind it."""

    typename: str
    source: Any


def cursor(comment_id: int) -> str:
    """A comment's opaque cursor in a connection (GitHub's are base64 too)."""
    return base64.b64encode(f"cursor:v2:{comment_id}".encode()).decode()


def _uncursor(value: str, path: list[str | int]) -> int:
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
        if text.startswith("cursor:v2:"):
            return int(text.removeprefix("cursor:v2:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    message = f"`{value}` does not appear to be a valid cursor."
    raise QueryError(message, type="INVALID_CURSOR_ARGUMENTS", path=path)


ResponsePath = list[str | int]


class _Executor:
    """Resolves a validated operation over the fake's state, as `caller` may see it."""

    def __init__(self, fake: FakeGitHub, caller: str, variables: dict[str, Any]) -> None:
        self.fake, self.caller, self.variables = fake, caller, variables
        self.errors: list[dict[str, Any]] = []

    def fields(self, node: _Node, selections: list[Field | Fragment], path: ResponsePath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sel in selections:
            if isinstance(sel, Fragment):
                if sel.on in (None, node.typename) or node.typename in POSSIBLE.get(sel.on or "", ()):
                    out.update(self.fields(node, sel.selections, path))
                continue
            args = {
                k: self.variables.get(v.name) if isinstance(v, Var) else v for k, v in sel.arguments.items()
            }
            if sel.name == "__typename":
                out[sel.key] = node.typename
                continue
            ref = FIELDS[node.typename][sel.name]
            try:
                resolver = _RESOLVERS[_SHARED.get(node.typename, node.typename)][sel.name]
                value = resolver(self, node.source, args, [*path, sel.key])
                out[sel.key] = self.complete(ref, value, sel, [*path, sel.key])
            except QueryError as exc:  # a field that failed is null, and says why in `errors`
                self.errors.append({**exc.entry, "locations": [sel.location]})
                if ref.endswith("!"):
                    raise _NullBubble from None
                out[sel.key] = None
            except _NullBubble:  # a non-null field below is null: so is the nearest nullable parent
                if ref.endswith("!"):
                    raise
                out[sel.key] = None
        return out

    def complete(self, ref: str, value: Any, sel: Field, path: ResponsePath) -> Any:
        if value is None:
            if ref.endswith("!"):
                raise QueryError(f"Cannot return null for non-nullable field {sel.name}", path=path)
            return None
        ref = ref.removesuffix("!")
        if ref.startswith("["):
            return [self.complete(ref[1:-1], v, sel, [*path, i]) for i, v in enumerate(value)]
        if ref in SCALARS:
            return value
        assert sel.selections is not None and isinstance(value, _Node)
        return self.fields(value, sel.selections, path)

    def repository(self, _: Any, args: dict[str, Any], path: ResponsePath) -> _Node:
        fake, full_name = self.fake, f"{args['owner']}/{args['name']}"
        visible = not fake.private or fake.user(self.caller).permission != "none"
        if full_name.lower() != fake.full_name.lower() or not visible:
            message = f"Could not resolve to a Repository with the name '{full_name}'."
            raise QueryError(message, type="NOT_FOUND", path=path)
        return _Node("Repository", fake)

    def nodes(self, _: Any, args: dict[str, Any], path: ResponsePath) -> list[_Node | None]:
        """`nodes(ids:)`: the conversation comments with these node ids (REST's `node_id`); an id
        that names nothing here is a null with a NOT_FOUND error, as GitHub answers."""
        if len(args["ids"]) > MAX_PAGE:
            raise QueryError(f"You may not request more than {MAX_PAGE} ids at once.", path=path)
        by_id = {legacy_node_id("IssueComment", c.id): c for c in self.fake.issue_comments.values()}
        found: list[_Node | None] = []
        for i, node_id in enumerate(args["ids"]):
            comment = by_id.get(node_id)
            if comment is None:
                message = f"Could not resolve to a node with the global id of '{node_id}'"
                self.errors.append({"type": "NOT_FOUND", "path": [*path, i], "message": message})
            found.append(_Node("IssueComment", comment) if comment is not None else None)
        return found

    def thread(self, _: Any, args: dict[str, Any], path: ResponsePath) -> _Node:
        issue = self.fake.issues.get(args["number"])
        if issue is None:
            message = f"Could not resolve to an issue or pull request with the number of {args['number']}."
            raise QueryError(message, type="NOT_FOUND", path=path)
        return _Node("PullRequest" if issue.pull else "Issue", issue)

    def comments(self, issue: Issue, args: dict[str, Any], path: ResponsePath) -> _Node:
        """One page, sliced as Relay's cursor connections are: after/before first, then first/last."""
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            message = (
                "You must provide a `first` or `last` value to properly paginate the `comments` connection."
            )
            raise QueryError(message, type="MISSING_PAGINATION_BOUNDARIES", path=path)
        for arg, count in (("first", first), ("last", last)):
            if count is not None and not 0 <= count <= MAX_PAGE:
                message = f"Requesting {count} records on the `comments` connection exceeds the `{arg}` limit"
                raise QueryError(f"{message} of {MAX_PAGE} records.", type="EXCESSIVE_PAGINATION", path=path)
        every = self.fake.comments(issue.number)
        after = _uncursor(args["after"], path) if args.get("after") is not None else 0
        before = _uncursor(args["before"], path) if args.get("before") is not None else None
        items = [c for c in every if c.id > after and (before is None or c.id < before)]
        window = items[:first] if first is not None else items
        window = window[max(0, len(window) - last) :] if last is not None else window
        info = {
            "hasNextPage": first is not None and len(items) > first,
            "hasPreviousPage": last is not None and len(window) < len(items),
            "startCursor": cursor(window[0].id) if window else None,
            "endCursor": cursor(window[-1].id) if window else None,
        }
        return _Node("IssueCommentConnection", {"items": window, "info": info, "total": len(every)})

    def author(self, comment: Comment, _: dict[str, Any], path: ResponsePath) -> _Node | None:
        if comment.user == "ghost" or comment.user in self.fake.deleted_users:  # a deleted account
            return None
        user = self.fake.user(comment.user)
        return _Node("Bot" if user.type == "Bot" else "User", user)

    def association(self, comment: Comment, _: dict[str, Any], path: ResponsePath) -> str:
        """`authorAssociation`, as REST's `author_association` of the same comment."""
        if comment.user == "ghost" or comment.user in self.fake.deleted_users:
            return "NONE"
        return self.fake.association(comment.user)


Resolver = Callable[[_Executor, Any, dict[str, Any], ResponsePath], Any]


def _plain(get: Callable[[Any], Any]) -> Resolver:
    """A resolver that reads its value off the source object."""
    return lambda _executor, source, _args, _path: get(source)


def _reason(c: Comment) -> str | None:
    if not c.minimized or c.minimized_reason is None:
        return None
    return _REASONS.get(c.minimized_reason, c.minimized_reason.lower())


def _page_info(name: str) -> Resolver:
    return _plain(lambda info: info[name])


_SHARED = {"User": "Actor", "Bot": "Actor", "Issue": "Thread", "PullRequest": "Thread"}  # resolve alike
_RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {"repository": _Executor.repository, "nodes": _Executor.nodes},
    "Repository": {
        "id": _plain(lambda fake: legacy_node_id("Repository", fake.repo_id)),
        "databaseId": _plain(lambda fake: fake.repo_id),
        "name": _plain(lambda fake: fake.repo_name),
        "nameWithOwner": _plain(lambda fake: fake.full_name),
        "issueOrPullRequest": _Executor.thread,
    },
    "Thread": {
        "id": _plain(lambda i: legacy_node_id("PullRequest" if i.pull else "Issue", i.id)),
        "databaseId": _plain(lambda i: i.id),
        "number": _plain(lambda i: i.number),
        "title": _plain(lambda i: i.title),
        "comments": _Executor.comments,
    },
    "IssueCommentConnection": {
        "nodes": _plain(lambda page: [_Node("IssueComment", c) for c in page["items"]]),
        "edges": _plain(lambda page: [_Node("IssueCommentEdge", c) for c in page["items"]]),
        "pageInfo": _plain(lambda page: _Node("PageInfo", page["info"])),
        "totalCount": _plain(lambda page: page["total"]),
    },
    "IssueCommentEdge": {
        "cursor": _plain(lambda c: cursor(c.id)),
        "node": _plain(lambda c: _Node("IssueComment", c)),
    },
    "PageInfo": {name: _page_info(name) for name in FIELDS["PageInfo"]},
    "IssueComment": {
        "id": _plain(lambda c: legacy_node_id("IssueComment", c.id)),  # = REST's `node_id`
        "databaseId": _plain(lambda c: c.id),
        "body": _plain(lambda c: c.body),
        "author": _Executor.author,
        "createdAt": _plain(lambda c: iso(c.created_at)),
        "updatedAt": _plain(lambda c: iso(c.updated_at)),
        "lastEditedAt": _plain(lambda c: iso(c.updated_at) if c.updated_at > c.created_at else None),
        "isMinimized": _plain(lambda c: c.minimized),
        "minimizedReason": _plain(_reason),
        "authorAssociation": _Executor.association,
    },
    "Actor": {
        # GraphQL names a bot by its App's slug: REST's "dependabot[bot]" is "dependabot" here.
        "login": _plain(lambda u: u.login.removesuffix("[bot]") if u.type == "Bot" else u.login),
        "id": _plain(lambda u: legacy_node_id("Bot" if u.type == "Bot" else "User", u.id)),
        "databaseId": _plain(lambda u: u.id),
    },
}


def execute(fake: FakeGitHub, caller: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL response (`data` and/or `errors`) to a request body `{"query", "variables"}`."""
    query, variables = payload.get("query"), payload.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    try:
        operation = _Parser(query).document()
        _check(operation.selections, "Query", [operation.title], operation)
        values: dict[str, Any] = {}
        for name, (ref, default) in operation.variables.items():
            values[name] = variables.get(name, default)
            if not _fits(values[name], ref):
                problem = {"path": [], "explanation": f"Expected value of type {ref}"}
                message = f"Variable ${name} of type {ref} was provided invalid value"
                raise QueryError(message, extensions={"value": values[name], "problems": [problem]})
    except QueryError as exc:
        return {"errors": [exc.entry]}
    executor = _Executor(fake, caller, values)
    with fake.lock:
        try:
            data: dict[str, Any] | None = executor.fields(_Node("Query", None), operation.selections, [])
        except _NullBubble:
            data = None
    return {"data": data, **({"errors": executor.errors} if executor.errors else {})}


def serve(fake: FakeGitHub, request: Request) -> Reply:
    """`POST /graphql` (GHES: `POST /api/graphql`; there is no `/api/v3/graphql`)."""
    if request.record.path.startswith("/api/v3/"):
        return Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
    return Reply(200, execute(fake, request.caller, request.record.body))
