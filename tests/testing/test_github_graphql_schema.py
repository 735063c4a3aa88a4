"""The GraphQL the adapter sends, and the fake's answers to it, against GitHub's published schema.

The schema is the SDL of the npm package `@octokit/graphql-schema`, fetched by
`scripts/fetch-github-openapi.sh`. The adapter's query must validate against it; the fake's types
must be GitHub's (same fields, arguments and nullability); and each answer the fake gives is run
back through graphql-core against the schema, resolving every field from the answer itself, so a
missing field, a wrong scalar or a null where GitHub promises a value fails.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import graphql
import pytest

from runner.platforms.github import COMMENTS_QUERY, GitHubAuth, GitHubPlatform
from runner.platforms.github_data import MINIMIZED_QUERY
from runner.testing import github_graphql
from runner.testing.fake_github import FakeGitHub
from runner.testing.github_objects import legacy_node_id
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
ENV_VAR = "GITHUB_GRAPHQL_SCHEMA"
DEFAULT_PATH = ROOT / ".cache/octokit-graphql-schema/node_modules/@octokit/graphql-schema/schema.graphql"
FETCH_SCRIPT = "scripts/fetch-github-openapi.sh"
TOKEN = "ghp_fake_token"


@pytest.fixture(scope="module")
def schema() -> graphql.GraphQLSchema:
    """GitHub's schema, built once for the module."""
    path = Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)
    if not path.is_file():
        pytest.fail(
            f"GitHub's GraphQL schema is missing ({path}): run `bash {FETCH_SCRIPT}` first, "
            f"or point {ENV_VAR} at schema.graphql from the npm package @octokit/graphql-schema",
            pytrace=False,
        )
    # The published SDL is not spec-clean: it defines two EnterpriseOwnerInfo fields twice, and
    # graphql-core 3.3 rejects deprecated `id`/`databaseId` fields implementing non-deprecated
    # interface fields. Neither touches the types used here, so the SDL is taken as GitHub serves it.
    built = graphql.build_schema(path.read_text(), assume_valid_sdl=True, assume_valid=True)
    date_time = built.type_map["DateTime"]
    # graphql-core 3.3 coerces output through `coerce_output_value`; 3.2 through `serialize`.
    date_time.serialize = date_time.coerce_output_value = _iso_8601
    return built


def _iso_8601(value: Any) -> str:
    """GitHub's `DateTime`: an ISO-8601 string."""
    if not isinstance(value, str):
        raise TypeError(f"DateTime must be a string, not {value!r}")
    datetime.fromisoformat(value)
    return value


def test_the_comments_query_validates(schema: graphql.GraphQLSchema) -> None:
    assert graphql.validate(schema, graphql.parse(COMMENTS_QUERY)) == []


def test_the_fakes_types_are_githubs(schema: graphql.GraphQLSchema) -> None:
    for type_name, fields in github_graphql.FIELDS.items():
        real = schema.get_type(type_name)
        assert real is not None, type_name
        for name, ref in fields.items():
            field = real.fields[name]
            assert str(field.type) == ref, f"{type_name}.{name}"
            accepted = github_graphql.ARGUMENTS[(type_name, name)]
            assert {k: str(field.args[k].type) for k in accepted} == accepted, f"{type_name}.{name}"
            required = {k for k, a in field.args.items() if graphql.is_required_argument(a)}
            assert required <= set(accepted), f"{type_name}.{name} requires {required}"
    for abstract, members in github_graphql.POSSIBLE.items():
        possible = {t.name for t in schema.get_possible_types(schema.get_type(abstract))}
        assert members <= possible, abstract


def _populated() -> FakeGitHub:
    fake = FakeGitHub("octo-org", "hello-world")
    fake.add_user("dependabot[bot]", type="Bot")
    fake.add_issue(1)
    fake.add_pull(2)
    for number in (1, 2):
        for i in range(130):  # two pages
            user = ("alice", "dependabot[bot]", "ghost")[i % 3]
            comment = fake.add_comment(
                number, f"comment {i}", user, created_at=1e9 + i, updated_at=1e9 + i * 2
            )
            if i % 7 == 0:
                fake.minimize_comment(comment.id, ("SPAM", "OFF_TOPIC", "OUTDATED")[i % 3])
    return fake


def _check_against_schema(
    schema: graphql.GraphQLSchema, query: str, variables: dict[str, Any], answer: dict[str, Any], runtime: str
) -> None:
    """Re-execute `query` on the real schema with every field read from `answer`: the result must
    be `answer` itself, with no error (types, nullability, no field missing or extra)."""

    def by_response_key(source: Any, info: graphql.GraphQLResolveInfo, **_: Any) -> Any:
        return source.get(info.path.key) if isinstance(source, dict) else None

    def concrete_type(value: Any, _info: Any, abstract: graphql.GraphQLAbstractType) -> str:
        return str(value.get("__typename") or runtime)  # IssueOrPullRequest: not asked, known here

    result = graphql.execute_sync(
        schema,
        graphql.parse(query),
        root_value=answer["data"],
        variable_values=variables,
        field_resolver=by_response_key,
        type_resolver=concrete_type,
    )
    assert result.errors is None, result.errors
    assert result.data == answer["data"]


@pytest.mark.parametrize(("number", "runtime"), [(1, "Issue"), (2, "PullRequest")])
def test_the_fakes_answers_match_the_schema(schema: graphql.GraphQLSchema, number: int, runtime: str) -> None:
    with _populated() as fake:
        gh = GitHubPlatform(
            "octo-org/hello-world", GitHubAuth(TOKEN), api_url=fake.api_url, server_url=fake.web_url
        )
        thread = gh.fetch_thread(number, is_pull_request=number == 2)
        first, lookup = fake.requests_to("POST", "graphql")
        assert len(thread.comments) == 130
        assert sum(c.minimized for c in thread.comments) == 19
        # The first page over GraphQL, the other 30 comments over REST, then their flags by node id.
        assert first.body["query"] == COMMENTS_QUERY and lookup.body["query"] == MINIMIZED_QUERY
        _check_against_schema(schema, COMMENTS_QUERY, first.body["variables"], first.reply, runtime)
        _check_against_schema(schema, MINIMIZED_QUERY, lookup.body["variables"], lookup.reply, "IssueComment")
        page = first.reply["data"]["repository"]["issueOrPullRequest"]["comments"]
        assert page["totalCount"] == 130 and page["pageInfo"]["hasNextPage"]
        assert len(lookup.reply["data"]["nodes"]) == 30
        reasons = {n["minimizedReason"] for n in _nodes(first.reply)}
        assert reasons == {None, "spam", "off-topic", "outdated"}  # as GitHub documents the field


def test_the_minimized_query_validates_and_a_missing_node_is_null(schema: graphql.GraphQLSchema) -> None:
    assert graphql.validate(schema, graphql.parse(MINIMIZED_QUERY)) == []
    with _populated() as fake:
        comment = fake.comments(1)[0]
        ids = [legacy_node_id("IssueComment", comment.id), legacy_node_id("IssueComment", 10**9)]
        body = {"query": MINIMIZED_QUERY, "variables": {"ids": ids}}
        answer = github_graphql.execute(fake, "octocat", body)
    assert answer["data"]["nodes"][0]["databaseId"] == comment.id and answer["data"]["nodes"][1] is None
    assert [e["type"] for e in answer["errors"]] == ["NOT_FOUND"]


def _nodes(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return answer["data"]["repository"]["issueOrPullRequest"]["comments"]["nodes"]


@pytest.mark.parametrize(
    "query",
    [
        '{ repository(owner: "octo-org", name: "hello-world") { nameWithOwnr } }',
        '{ repository(owner: "octo-org") { nameWithOwner } }',
        '{ repository(owner: "octo-org", name: "hello-world") { nameWithOwner { id } } }',
        '{ repository(owner: "octo-org", name: "hello-world", first: 1) { nameWithOwner } }',
        '{ repository(owner: "octo-org", name: "hello-world") { issueOrPullRequest(number: 1) { number } } }',
        "query { repository(owner: $owner, name: $name) { nameWithOwner } }",
        '{ repository(owner: "octo-org", name: "hello-world") { ... on User { login } } }',
    ],
)
def test_what_githubs_schema_rejects_the_fake_rejects(schema: graphql.GraphQLSchema, query: str) -> None:
    assert graphql.validate(schema, graphql.parse(query)), "not an invalid query"
    with FakeGitHub("octo-org", "hello-world") as fake:
        fake.add_issue(1)
        answer = github_graphql.execute(fake, "octocat", {"query": query})
    assert "data" not in answer
    (error,) = answer["errors"]
    assert error["message"] and error["path"][0] == "query"


def test_a_lookup_that_finds_nothing_is_null_with_a_not_found_error(schema: graphql.GraphQLSchema) -> None:
    variables = {"owner": "octo-org", "name": "hello-world", "number": 404, "after": None}
    with FakeGitHub("octo-org", "hello-world") as fake:
        answer = github_graphql.execute(fake, "octocat", {"query": COMMENTS_QUERY, "variables": variables})
    assert answer["data"] == {"repository": {"issueOrPullRequest": None}}
    (error,) = answer["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == ["repository", "issueOrPullRequest"]
    _check_against_schema(schema, COMMENTS_QUERY, variables, answer, "Issue")
