"""Large-PR review benchmark (issue #6, acceptance 2): 5,000 files, 100,000 changed lines.

Runs the real ``claude-runner github`` in a subprocess for a ``pull_request`` opened event with
``review: true`` against the fake GitHub (the PR's files with their patches) and a scripted model
(one finding, then the assessment), and measures:

- API requests to the fake GitHub made to gather context (everything but the posting at the end);
- the runner's peak RSS (``getrusage(RUSAGE_CHILDREN)``: the only child is the runner);
- wall time of the runner process;
- the first model request's size (the fake's token estimate) against the configured budget.

Targets: <= 60 context requests, <= 300 MB, first request within the budget, <= 10 s.
Run: ``python bench/review_large.py`` (prints one JSON object; exit 1 when a target is missed).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.project.review_config import DEFAULT_BUDGET_TOKENS  # noqa: E402
from runner.testing.fake_github import FakeGitHub  # noqa: E402
from runner.testing.fake_messages import FakeMessagesAPI, estimate_tokens, text, tool_use  # noqa: E402

OWNER, REPO, NUMBER = "octo", "big", 1
FILES, LINES = 5_000, 20
# The whole first request: the budgeted diff plus the prompt's text, system prompt and tool schemas.
REQUEST_BUDGET = DEFAULT_BUDGET_TOKENS + 20_000
GIT = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", "-c", "commit.gpgsign=false"]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def body(i: int) -> str:
    return "".join(f"value_{i}_{n} = compute({n}, {i})  # line {n}\n" for n in range(1, LINES + 1))


def make_repos(root: Path) -> tuple[Path, Path, str, str]:
    """A bare origin (``main``; ``big`` adding 5,000 files of 20 lines) and a workspace clone."""
    seed = root / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("big\n")
    git("add", ".", cwd=seed)
    git("commit", "-qm", "init", cwd=seed)
    base = git("rev-parse", "HEAD", cwd=seed)
    git("checkout", "-q", "-b", "big", cwd=seed)
    for i in range(FILES):
        folder = seed / "src" / f"pkg{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i:04d}.py").write_text(body(i))
    git("add", ".", cwd=seed)
    git("commit", "-qm", "big change", cwd=seed)
    head = git("rev-parse", "HEAD", cwd=seed)
    origin = root / "remotes" / OWNER / f"{REPO}.git"
    origin.parent.mkdir(parents=True)
    git("clone", "-q", "--bare", str(seed), str(origin), cwd=root)
    workspace = root / "workspace"
    git("clone", "-q", "-b", "main", str(origin), str(workspace), cwd=root)
    return origin, workspace, base, head


def pull_files() -> list[dict[str, object]]:
    files = []
    for i in range(FILES):
        patch = f"@@ -0,0 +1,{LINES} @@\n" + "".join(f"+{line}\n" for line in body(i).splitlines())
        files.append(
            {
                "filename": f"src/pkg{i // 100:02d}/mod{i:04d}.py",
                "status": "added",
                "patch": patch.rstrip("\n"),
            }
        )
    return files


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="review-large-") as tmp:
        root = Path(tmp)
        setup = time.monotonic()
        _origin, workspace, base, head = make_repos(root)
        finding = {
            "path": "src/pkg00/mod0000.py",
            "line": 3,
            "severity": "nit",
            "title": "magic numbers",
            "body": "Name the constants.",
        }
        turns = [[tool_use("report_finding", finding)], [text("A mechanical change; one nit.")]]
        with (
            FakeMessagesAPI(turns) as model,
            FakeGitHub(OWNER, REPO, default_branch="main", web_url=f"file://{root / 'remotes'}") as github,
        ):
            github.add_user("octocat", permission="admin")
            github.add_pull(
                NUMBER, head_ref="big", base_ref="main", head_sha=head, base_sha=base, files=pull_files()
            )
            event = root / "event.json"
            side = {"repo": {"full_name": f"{OWNER}/{REPO}", "name": REPO, "owner": {"login": OWNER}}}
            event.write_text(
                json.dumps(
                    {
                        "action": "opened",
                        "number": NUMBER,
                        "pull_request": {
                            "number": NUMBER, "title": "Big", "body": "", "state": "open", "draft": False,
                            "user": {"login": "octocat", "type": "User"},
                            "head": {**side, "ref": "big", "sha": head},
                            "base": {**side, "ref": "main", "sha": base},
                        },
                        "repository": {**side["repo"], "default_branch": "main", "private": False},
                        "sender": {"login": "octocat", "type": "User", "id": 1},
                    }
                )
            )  # fmt: skip
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GITHUB_", "INPUT_"))
            }
            env.update(
                GITHUB_EVENT_NAME="pull_request",
                GITHUB_EVENT_PATH=str(event),
                GITHUB_REPOSITORY=f"{OWNER}/{REPO}",
                GITHUB_API_URL=github.api_url,
                GITHUB_SERVER_URL=github.web_url,
                GITHUB_RUN_ID="1",
                GITHUB_WORKSPACE=str(workspace),
                GITHUB_OUTPUT=str(root / "out"),
                RUNNER_TEMP=str(root / "tmp"),
                ANTHROPIC_BASE_URL=model.base_url,
                ANTHROPIC_API_KEY="sk-ant-bench-0123456789",
                INPUT_GITHUB_TOKEN="ghp_fake_token",
                INPUT_REVIEW="true",
            )
            setup_s = time.monotonic() - setup
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "runner", "github"],
                cwd=workspace,
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return 1
            writes = sum(1 for r in github.requests if r.method != "GET" and "graphql" not in r.path)
            context = len(github.requests) - writes
            first = model.requests[0].body
            first_tokens = sum(estimate_tokens(first.get(k, "")) for k in ("system", "tools", "messages"))
            outputs = (root / "out").read_text()
    result = {
        "files": FILES,
        "changed_lines": FILES * LINES,
        "context_api_requests": context,
        "write_api_requests": writes,
        "peak_rss_mb": round(peak_mb, 1),
        "runner_wall_s": round(wall, 2),
        "setup_s": round(setup_s, 2),
        "first_request_tokens": first_tokens,
        "first_request_budget": REQUEST_BUDGET,
        "diff_budget_tokens": DEFAULT_BUDGET_TOKENS,
        "review_comments": next(
            (line.split("=", 1)[1] for line in outputs.splitlines() if line.startswith("review_comments=")),
            "?",
        ),
    }
    print(json.dumps(result, indent=2))
    ok = context <= 60 and peak_mb <= 300 and first_tokens <= REQUEST_BUDGET and wall <= 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
