"""Fixtures of the listener's tests: the fake GitLab project the hook payloads name, and a real
PostgreSQL server for the shared store: one throwaway cluster per test session
(``runner/testing/postgres.py``), a fresh database per test.

Under CI (``CI=true``, where ``.ci/run`` installs PostgreSQL) a missing server fails the tests that
need it; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from runner.testing.fake_gitlab import FakeGitLab, fake_sha
from runner.testing.postgres import PostgresCluster, PostgresUnavailable

TOKEN = "glpat-webhooktesttoken0000"  # the listener's GITLAB_ACCESS_TOKEN in these tests
_DATABASES = itertools.count(1)


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    """The project of the fixture payloads, with a developer, a guest and a non-member."""
    with FakeGitLab(
        "gitlab-org/gitlab-test", project_id=5, default_branch="master", tokens={TOKEN: "claude_bot"}
    ) as fake:
        fake.add_branch("fix-flaky", fake_sha("fix-flaky"))
        fake.add_user("user1", "developer")
        fake.add_user("guest1", "guest")
        fake.add_user("outsider", None)
        yield fake


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        import psycopg  # noqa: F401

        cluster = PostgresCluster().start()
    except (ImportError, PostgresUnavailable) as exc:
        message = f"PostgreSQL is needed for the shared listener store: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI installs it in .ci/run: apt-get install -y postgresql)")
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a new, empty database on the session's cluster."""
    return postgres_cluster.create_database(f"hooks_{next(_DATABASES)}")
