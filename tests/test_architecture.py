"""The layout DESIGN.md asks for, checked on the source with `ast`: no import cycles among `runner`
modules, no module over 450 lines, and the process environment read only at the edge.

Each test lists every offence (file:line and what was found), so one run shows all there is to fix.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest

from tests.paths import REPO_ROOT

RUNNER = REPO_ROOT / "runner"
MAX_LINES = 450

# The edge: these may read the process environment (and test helpers and the demo may do anything).
ENV_READERS = (
    "runner/settings/",
    "runner/cli.py",
    "runner/entry.py",
    "runner/agent/env.py",
    "runner/testing/",
    "runner/demo/",
)

# (path, what was found) -> why it is not a read of the process environment.
ENV_ALLOWED: dict[tuple[str, str], str] = {
    ("runner/webhook/server.py", "environ"): "the WSGI request environ, not the process environment",
}

ENV_NAMES = {"env", "environ", "environment"}
OS_ENV_ATTRS = {"environ", "environb", "getenv", "putenv", "unsetenv"}
ENV_VAR = re.compile(
    r"^(GITHUB|GITLAB|CI|AI_FLOW|ANTHROPIC|CLAUDE|AWS|GCP|GOOGLE|CLOUD_ML|VERTEX|AZURE|ACTIONS|INPUT"
    r"|RUNNER|API_TIMEOUT|MCP|OTEL)_[A-Z0-9_]*$"
)


@dataclass(frozen=True)
class Finding:
    """One read of the process environment where it does not belong."""

    path: str  # relative to the repository, with forward slashes
    line: int
    name: str  # what the allowlist matches on
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def relative(path: Path) -> str:
    """``path`` as the failure lists show it: from the repository root, with forward slashes."""
    return path.relative_to(REPO_ROOT).as_posix()


def runner_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by the name of its ``__init__``)."""
    found = {}
    for path in sorted(RUNNER.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


# --- 1. import cycles -----------------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:`` (never run)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
            continue
        yield child
        yield from _runtime_nodes(child)


def _resolve(name: str, modules: Collection[str]) -> str | None:
    """The module an import of ``name`` loads: itself, else its nearest enclosing module."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(
    module: str, source: str, modules: Collection[str], is_package: bool = False
) -> Iterator[tuple[str, int]]:
    """The runner modules ``module`` imports at run time (module- or function-level), with lines."""
    package = module if is_package else module.rpartition(".")[0]
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "runner" and (target := _resolve(alias.name, modules)):
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "runner":
                continue
            for alias in node.names:
                # `from runner.a import b` loads runner.a.b when b is a submodule, else runner.a
                full = f"{base}.{alias.name}"
                if target := (full if full in modules else _resolve(base, modules)):
                    yield target, node.lineno


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components of ``graph`` with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def shortest_cycles(graph: dict[str, set[str]], component: list[str]) -> list[list[str]]:
    """For each module of ``component``, a shortest cycle through it (each cycle listed once)."""
    members, cycles = set(component), set()
    for start in component:
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if start in graph[node]:
                cycle = paths[node]
                first = cycle.index(min(cycle))  # one rotation, so each cycle is listed once
                cycles.add((*cycle[first:], *cycle[:first], min(cycle)))
                break
            for child in sorted(graph[node] & members):
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    queue.append(child)
    return [list(cycle) for cycle in sorted(cycles)]


def test_no_import_cycles_among_runner_modules() -> None:
    modules = runner_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    where: dict[tuple[str, str], list[int]] = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        for target, line in import_edges(name, source, modules, path.name == "__init__.py"):
            if target != name:
                graph[name].add(target)
                where.setdefault((name, target), set()).add(line)
    report = []
    for component in strongly_connected(graph):
        report.append(f"strongly connected: {', '.join(component)}")
        report += [f"  cycle: {' -> '.join(cycle)}" for cycle in shortest_cycles(graph, component)]
        for source in component:
            for target in sorted(graph[source] & set(component)):
                lines = ", ".join(map(str, sorted(where[source, target])))
                report.append(f"  {relative(modules[source])}:{lines}: imports {target}")
    if report:
        pytest.fail("import cycles among runner modules:\n" + "\n".join(report), pytrace=False)


# --- 2. module size -------------------------------------------------------------------------------


def test_no_module_over_450_lines() -> None:
    over = []
    for path in sorted(RUNNER.rglob("*.py")):
        if relative(path).startswith("runner/testing/"):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            over.append(f"{relative(path)}: {lines} lines")
    if over:
        pytest.fail(f"modules over {MAX_LINES} lines:\n" + "\n".join(over), pytrace=False)


# --- 3. the process environment is read at the edge only -----------------------------------------


def _env_var_key(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_VAR.match(node.value):
        return node.value
    return None


def _mentions_mapping(annotation: ast.expr) -> bool:
    return re.search(r"Mapping|dict|Dict", ast.unparse(annotation)) is not None


def environment_reads(rel: str, source: str) -> Iterator[Finding]:
    """What in ``source`` (the module at ``rel``) reads, or passes down, the process environment."""
    tree = ast.parse(source)
    os_names = {"os"}  # `import os as x` binds x
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname for alias in node.names if alias.name == "os" and alias.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in OS_ENV_ATTRS:
                    yield Finding(rel, node.lineno, f"os.{alias.name}", f"from os import {alias.name}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in OS_ENV_ATTRS
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            yield Finding(rel, node.lineno, f"os.{node.attr}", f"os.{node.attr}")
        elif isinstance(node, ast.arguments):
            every = [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]
            for arg in every:
                if arg is not None and arg.arg in ENV_NAMES:
                    yield Finding(rel, arg.lineno, arg.arg, f"parameter {arg.arg!r}")
        elif isinstance(node, ast.AnnAssign) and _mentions_mapping(node.annotation):
            target = node.target
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
            if name in ENV_NAMES:
                yield Finding(rel, node.lineno, name, f"field {name}: {ast.unparse(node.annotation)}")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and (key := _env_var_key(node.slice))
        ):
            yield Finding(rel, node.lineno, key, f"reads [{key!r}]")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and (key := _env_var_key(node.args[0]))
        ):
            yield Finding(rel, node.lineno, key, f"reads .get({key!r})")


def test_process_environment_is_read_only_at_the_edge() -> None:
    found = []
    for path in sorted(RUNNER.rglob("*.py")):
        if relative(path).startswith(ENV_READERS):
            continue
        source = path.read_text(encoding="utf-8")
        reads = sorted(environment_reads(relative(path), source), key=lambda f: f.line)  # walk is BFS
        found += [f for f in reads if (f.path, f.name) not in ENV_ALLOWED]
    if found:
        pytest.fail(
            f"the process environment is read outside {', '.join(ENV_READERS)} "
            "(read it in runner/settings/ and pass typed values down; "
            "a value built from it is named e.g. tool_env, not env):\n" + "\n".join(map(str, found)),
            pytrace=False,
        )


# --- the checks themselves, on made-up modules ------------------------------------------------------


def test_the_checks_find_what_they_look_for() -> None:
    """The three tests above say nothing when their checkers miss things; check those on samples."""
    modules = {"runner", "runner.a", "runner.b", "runner.pkg", "runner.pkg.c", "runner.pkg.d"}
    source = dedent(
        """\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from runner import b
        from runner import pkg
        from runner.pkg import c, helper
        from . import b as bee
        def f():
            import runner.pkg.d
        """
    )
    assert sorted(import_edges("runner.a", source, modules)) == [
        ("runner.b", 6),
        ("runner.pkg", 4),
        ("runner.pkg", 5),
        ("runner.pkg.c", 5),
        ("runner.pkg.d", 8),
    ]
    relative_source = "from .c import x\nfrom .. import a\n"
    assert sorted(import_edges("runner.pkg", relative_source, modules, is_package=True)) == [
        ("runner.a", 2),
        ("runner.pkg.c", 1),
    ]
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": set()}
    assert strongly_connected(graph) == [["a", "b"]]
    assert shortest_cycles(graph, ["a", "b"]) == [["a", "b", "a"]]

    source = dedent(
        """\
        import os as o
        from os import getenv
        def f(env, *, environment=None):
            return o.environ.get("GITHUB_TOKEN")
        class C:
            tool_env: Mapping[str, str]
            environ: dict[str, str]
            env: str
        x = {"GITHUB_TOKEN": 1}
        x["CI_JOB_ID"] = 2
        y = x["CI_JOB_ID"], x.get("HTTP_HOST"), x.get("RUNNER_TEMP"), x["CI"]
        """
    )
    found = sorted((f.line, f.name) for f in environment_reads("runner/x.py", source))
    assert found == [
        (2, "os.getenv"),
        (3, "env"),
        (3, "environment"),
        (4, "GITHUB_TOKEN"),
        (4, "os.environ"),
        (7, "environ"),
        (11, "CI_JOB_ID"),
        (11, "RUNNER_TEMP"),
    ]


def test_architecture_md_names_every_package_and_only_real_ones() -> None:
    """ARCHITECTURE.md describes the code as it is: each package it names exists, and every
    package (a folder of runner/: code, or the templates) is named there."""
    text = (REPO_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(runner/[a-z_]+)/`", text))
    packages = {relative(path) for path in RUNNER.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert named - packages == set(), f"ARCHITECTURE.md names packages that do not exist: {named - packages}"
    assert packages - named == set(), f"packages missing from ARCHITECTURE.md: {packages - named}"
    modules = set(re.findall(r"`(runner/[a-z_]+\.py)`", text))
    missing = {m for m in modules if not (REPO_ROOT / m).is_file()}
    assert missing == set(), f"ARCHITECTURE.md names modules that do not exist: {missing}"
