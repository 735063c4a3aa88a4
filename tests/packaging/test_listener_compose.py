"""examples/gitlab-listener/compose.yml, checked without a Docker engine: two listener replicas behind one
nginx URL, sharing one PostgreSQL store that the listener's own settings reader accepts."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest

from runner.settings.webhook import read_webhook_listener_settings
from tests.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "gitlab-listener"


def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return dict(yaml.safe_load((EXAMPLE / "compose.yml").read_text()))


def expand(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?message}, with every variable unset but the two secrets."""
    given = {"GITLAB_WEBHOOK_SECRET": "s3cret", "GITLAB_ACCESS_TOKEN": "glpat-x"}

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in given:
            return given[name]
        assert op != ":?", f"{name} is required: {rest}"
        return rest

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def test_two_listener_replicas_share_one_postgres_store() -> None:
    services = compose()["services"]
    listeners = {name: s for name, s in services.items() if s.get("command", [None])[0] == "webhook"}
    assert sorted(listeners) == ["listener-1", "listener-2"]
    stores = {expand(s["environment"]["WEBHOOK_STORE"]) for s in listeners.values()}
    assert len(stores) == 1  # one queue, one record of the events seen
    url = urllib.parse.urlsplit(stores.pop())
    postgres = services[str(url.hostname)]["environment"]
    assert url.scheme == "postgresql" and url.port == 5432
    assert (url.username, url.path.lstrip("/")) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
    assert url.password == expand(postgres["POSTGRES_PASSWORD"])
    for listener in listeners.values():
        assert (EXAMPLE / listener["build"]["context"] / "Dockerfile").is_file()  # our image
        assert listener["command"] == ["webhook", "--host", "0.0.0.0", "--port", "8080"]
        assert listener["depends_on"]["postgres"]["condition"] == "service_healthy"
        env = {key: expand(str(value)) for key, value in listener["environment"].items()}
        assert read_webhook_listener_settings(env).store.kind == "postgresql"


def test_one_url_in_front_of_both_replicas() -> None:
    proxy = compose()["services"]["proxy"]
    assert proxy["ports"] == ["8080:8080"]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    conf = (EXAMPLE / "nginx.conf").read_text()
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert re.findall(r"server ([\w-]+:\d+)", upstream.group(2)) == ["listener-1:8080", "listener-2:8080"]
    assert f"proxy_pass http://{upstream.group(1)};" in conf and "listen 8080;" in conf
    # A POST retried on the other replica is recognised as a duplicate by the shared store.
    assert re.search(r"proxy_next_upstream [^;]*non_idempotent;", conf)
