"""`createRef` / `createCommitOnBranch` as the adapter sends them and the fake answers them, checked
against GitHub's published schema (`@octokit/graphql-schema`, via the schema fixture of
`test_github_graphql_schema.py`, which fails under a missing schema rather than skipping)."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest
import requests

from runner.platforms.base import FileChanges
from runner.platforms.github_commits import CREATE_COMMIT, CREATE_REF, REPOSITORY_ID, commit_input
from runner.testing import github_commits
from runner.testing.fake_github import FakeGitHub
from tests.flow.test_api_commits import run
from tests.testing.test_github_graphql_schema import schema  # noqa: F401  (the fixture)


@pytest.mark.parametrize("document", [CREATE_COMMIT, CREATE_REF, REPOSITORY_ID])
def test_the_adapters_documents_validate(schema: graphql.GraphQLSchema, document: str) -> None:  # noqa: F811
    assert graphql.validate(schema, graphql.parse(document)) == []


def test_the_fakes_input_types_are_githubs(schema: graphql.GraphQLSchema) -> None:  # noqa: F811
    for name, fields in github_commits.INPUT_TYPES.items():
        real = schema.type_map[name]
        assert isinstance(real, graphql.GraphQLInputObjectType), name
        assert set(real.fields) == set(fields), name
        for field, (ref, required) in fields.items():
            kind = str(real.fields[field].type)
            assert kind.rstrip("!") == ref and kind.endswith("!") == required, f"{name}.{field}: {kind}"


def _bare_repo(tmp_path: Path) -> tuple[Path, str]:
    seed, origin = tmp_path / "seed", tmp_path / "origin.git"
    seed.mkdir()
    run("init", "-q", "-b", "main", cwd=seed)
    (seed / "a.txt").write_text("a\n")
    run("add", ".", cwd=seed)
    run("commit", "-qm", "init", cwd=seed)
    run("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp_path)
    return origin, run("rev-parse", "HEAD", cwd=seed)


def _execute(
    built: graphql.GraphQLSchema, document: str, variables: dict, answer: dict
) -> graphql.ExecutionResult:
    """The document run by graphql-core against the schema, every field resolved from the fake's answer."""
    return graphql.graphql_sync(built, document, root_value=answer["data"], variable_values=variables)


def test_the_fakes_answers_fit_the_schema(schema: graphql.GraphQLSchema, tmp_path: Path) -> None:  # noqa: F811
    origin, head = _bare_repo(tmp_path)
    with FakeGitHub(default_branch="main") as fake:
        fake.git_dir = origin

        def send(document: str, variables: dict) -> dict:
            response = requests.post(
                f"{fake.api_url}/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": "token ghp_fake_token"},
                timeout=10,
            )
            assert response.status_code == 200
            return response.json()

        ref_vars = {"input": {"repositoryId": "R_1", "name": "refs/heads/claude/x", "oid": head}}
        answer = send(CREATE_REF, ref_vars)
        assert "errors" not in answer, answer
        checked = _execute(schema, CREATE_REF, ref_vars, answer)
        assert checked.errors is None and checked.data == answer["data"]

        changes = FileChanges((("a.txt", None), ("b.bin", b"\x00\x01")), frozenset({"b.bin"}))
        commit_vars = {"input": commit_input(fake.full_name, "claude/x", head, changes, "Title\n\nBody")}
        answer = send(CREATE_COMMIT, commit_vars)
        assert "errors" not in answer, answer
        checked = _execute(schema, CREATE_COMMIT, commit_vars, answer)
        assert checked.errors is None and checked.data == answer["data"]
        oid = answer["data"]["createCommitOnBranch"]["commit"]["oid"]
        assert run("--git-dir", str(origin), "ls-tree", "--name-only", oid, cwd=tmp_path) == "b.bin"

        stale = send(CREATE_COMMIT, commit_vars)  # the same expectedHeadOid again
        assert stale["data"] == {"createCommitOnBranch": None}
        assert stale["errors"][0]["type"] == "STALE_DATA"
        assert "Expected branch to point to" in stale["errors"][0]["message"]
