"""Claude Code permission rules: parse ``Tool(specifier)`` and match one rule against one call.

``permissions.py`` builds policies and decisions from these; this module knows the rule forms:
``Tool``, ``*``, ``Bash(...)`` (exact, ``prefix:*``, ``prefix *``, globs), path rules with
gitignore patterns (``//abs``, ``~/home``, ``/settings-relative``, ``./cwd-relative``),
``WebFetch(domain:...)`` and ``mcp__server[__tool]``. Pure: no file system access.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # imported where used: only path rules need it, and it costs start-up time
    import pathspec


from runner.agent.commands import Hazard, hazards
from runner.agent.shell import SimpleCommand, command_name, rough_words, split_command, split_rule_command

READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"})  # `Read(...)` rules cover these
PATH_TOOLS = READ_TOOLS | {"Edit", "Write", "MultiEdit", "NotebookEdit"}
DIR_TOOLS = frozenset({"Glob", "Grep", "LS"})  # their `path` is a directory, the cwd by default
_SUBAGENT_TOOLS = frozenset({"Task", "Agent"})  # `Task(name)` names the subagent type
_TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class BashPattern:
    """A compiled ``Bash(...)`` specifier."""

    kind: str  # "any", "exact", "prefix" (`x:*`, `x *`), "glob", "raw" (exact text with operators)
    words: tuple[str, ...] = ()  # the specifier's argv (prefix words for "prefix")
    regex: re.Pattern[str] | None = None  # "glob": matched against the joined argv
    raw: str = ""  # "raw": the specifier with whitespace collapsed
    lead: tuple[str, ...] = ()  # rough words before the first `*`: for commands we cannot parse
    partial: str = ""  # a word fragment right before the first `*` (`rm*` -> "rm")


@dataclass(frozen=True)
class Rule:
    """One permission rule, e.g. ``Bash(npm test:*)`` or ``Edit(/src/**)``."""

    tool: str  # "Bash", "Edit", "*", "mcp__github", "mcp__github__get_*", ...
    specifier: str | None  # the text in parentheses, None for a bare tool rule
    text: str  # the rule as written, for messages
    base_dir: Path  # the directory `/path` patterns are relative to (the settings file's project)
    bash: BashPattern | None = field(default=None, compare=False, repr=False)
    paths: pathspec.GitIgnoreSpec | None = field(default=None, compare=False, repr=False)
    anchor: str = field(default="", compare=False, repr=False)  # "root", "home", "base", "cwd"


@dataclass(frozen=True)
class Call:
    """One tool call, pre-digested once for matching against every rule."""

    tool_name: str
    tool_input: Mapping[str, Any]
    edits_files: bool
    cwd: str
    home: str
    command: str | None = None  # Bash
    commands: list[SimpleCommand] | None = None  # Bash, None when unverifiable
    paths: tuple[str, ...] = ()  # absolute, normalised candidates for the path the tool touches
    is_dir: bool = False


def parse_rule(text: str, *, base_dir: Path) -> Rule:
    """Parse one rule in Claude Code's syntax; raise ValueError saying what is wrong."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty rule")
    open_at = raw.find("(")
    spec: str | None = None
    if open_at < 0:
        if ")" in raw:
            raise ValueError("unbalanced parentheses: `)` without `(`")
        tool = raw
    else:
        if not raw.endswith(")") or not _balanced(raw[open_at + 1 : -1]):
            raise ValueError("unbalanced parentheses; write `Tool(specifier)`, e.g. `Bash(npm test:*)`")
        tool, spec = raw[:open_at].strip(), raw[open_at + 1 : -1].strip()
        if not spec:
            raise ValueError(f"empty specifier; write `{tool}` alone to match any use")
    _check_tool_name(tool)
    rule = Rule(tool, spec, raw, base_dir)
    if spec is None:
        return rule
    if tool in ("*", "WebSearch"):
        raise ValueError(f"`{tool}` rules take no specifier")
    if tool == "Bash":
        return Rule(tool, spec, raw, base_dir, bash=_compile_bash(spec))
    if tool in PATH_TOOLS:
        anchor, pattern = _path_pattern(spec)
        return Rule(tool, spec, raw, base_dir, paths=_gitignore_spec(pattern), anchor=anchor)
    if tool == "WebFetch" and not (spec.startswith("domain:") and spec[len("domain:") :].strip()):
        raise ValueError("WebFetch rules take `domain:<host>`, e.g. `WebFetch(domain:example.com)`")
    return rule


def names_tool(rule: Rule, tool_name: str, *, edits_files: bool) -> bool:
    """Whether ``rule`` is about ``tool_name`` at all, ignoring its specifier."""
    if rule.tool in ("*", tool_name) or {rule.tool, tool_name} <= _SUBAGENT_TOOLS:
        return True
    if rule.tool.startswith("mcp__"):
        want, have = _mcp_parts(rule.tool), _mcp_parts(tool_name)
        if have is None or want is None:
            return False
        if want[0] == "*":  # `mcp__*`
            return True
        return want[0] == have[0] and (want[1] is None or (have[1] is not None and _glob(want[1], have[1])))
    return (rule.tool == "Edit" and edits_files) or (rule.tool == "Read" and tool_name in READ_TOOLS)


def make_call(
    tool_name: str, tool_input: Mapping[str, Any], *, edits_files: bool, cwd: Path, home: Path
) -> Call:
    """Digest a call: split a Bash command once, resolve the path a file tool touches."""
    cwd_s, home_s = posixpath.normpath(str(cwd)), posixpath.normpath(str(home))
    command = tool_input.get("command") if tool_name == "Bash" else None
    if tool_name == "Bash":
        text = command if isinstance(command, str) else ""
        return Call(tool_name, tool_input, edits_files, cwd_s, home_s, text, split_command(text))
    raw = next((tool_input[k] for k in ("file_path", "notebook_path", "path") if tool_input.get(k)), None)
    is_dir = tool_name in DIR_TOOLS and not tool_input.get("file_path")
    if raw is None and tool_name in DIR_TOOLS:
        raw = cwd_s
    paths: tuple[str, ...] = ()
    if isinstance(raw, str):
        paths = (posixpath.normpath(posixpath.join(cwd_s, raw)),)
        if raw == "~" or raw.startswith("~/"):  # whether the tool expands ~ or not, check both
            paths += (posixpath.normpath(home_s + raw[1:]),)
    return Call(tool_name, tool_input, edits_files, cwd_s, home_s, paths=paths, is_dir=is_dir)


def rule_matches(rule: Rule, call: Call, *, for_deny: bool, blocked: bool = False) -> bool:
    """Whether ``rule`` covers ``call``.

    Deny/ask matching (``for_deny``) errs towards matching; allow matching errs towards not
    matching. ``blocked``: the Bash command cannot be allowed by a specific rule (it writes
    outside the workspace, uses /dev/tcp, ...), only by a bare ``Bash`` or an exact raw rule.
    """
    if not names_tool(rule, call.tool_name, edits_files=call.edits_files):
        return False
    if rule.specifier is None:
        return True
    if rule.bash is not None:
        if call.command is None:
            return False
        if for_deny:
            return _bash_deny(rule.bash, call.command, call.commands)
        return _bash_allow(rule.bash, call.command, call.commands, blocked=blocked, cwd=call.cwd)
    if rule.paths is not None:
        if not call.paths:
            return for_deny
        hits = [_path_hit(rule, p, call) for p in call.paths]
        return any(hits) if for_deny else all(hits)
    if rule.tool == "WebFetch":
        url = call.tool_input.get("url")
        host = (urlsplit(url).hostname or "") if isinstance(url, str) else ""
        want = rule.specifier[len("domain:") :].strip().lower()
        return _glob(want, host) or (for_deny and host.endswith("." + want))
    if rule.tool in _SUBAGENT_TOOLS:
        agent = call.tool_input.get("subagent_type")
        return _glob(rule.specifier, agent) if isinstance(agent, str) else for_deny
    return for_deny  # a specifier we cannot interpret: it may deny, never allow


def path_hit(rule: Rule, path: str, *, cwd: str, home: str, is_dir: bool = False) -> bool:
    """Whether path rule ``rule`` matches the absolute, normalised ``path``."""
    call = Call("", {}, False, cwd, home, is_dir=is_dir)
    return rule.paths is not None and _path_hit(rule, path, call)


def join_argv(argv: Sequence[str]) -> str:
    """Words joined by spaces; words that hold whitespace are quoted so word edges stay visible."""
    return " ".join(shlex.quote(w) if not w or any(c.isspace() for c in w) else w for w in argv)


# --- helpers -----------------------------------------------------------------------------


def _balanced(spec: str) -> bool:
    depth, quote = 0, ""
    for c in spec:
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "()":
            depth += 1 if c == "(" else -1
            if depth < 0:
                return False
    return depth == 0


def _check_tool_name(tool: str) -> None:
    if not tool:
        raise ValueError("empty tool name; write e.g. `Bash(npm test:*)` or `Read`")
    if tool == "*":
        return
    if tool.startswith("mcp__"):
        parts = _mcp_parts(tool)
        server, name = parts if parts else ("", None)
        if server == "*" and name is None:
            return
        if not server or "*" in server:
            raise ValueError("the server segment of an mcp rule must be a plain name (`mcp__server__tool_*`)")
        if name == "" or not re.fullmatch(r"[A-Za-z0-9_.*-]+", name or "x"):
            raise ValueError("an mcp rule is `mcp__server`, `mcp__server__tool` or `mcp__server__prefix_*`")
        return
    if "*" in tool:
        raise ValueError("tool-name globs are only supported after `mcp__<server>__`; use `*` for all tools")
    if not _TOOL_NAME.fullmatch(tool):
        raise ValueError(f"`{tool}` is not a tool name")


def _mcp_parts(name: str) -> tuple[str, str | None] | None:
    if not name.startswith("mcp__"):
        return None
    server, sep, tool = name[len("mcp__") :].partition("__")
    return server, (tool if sep else None)


def _glob(pattern: str, value: str) -> bool:
    """Match where only `*` is special (any run of characters)."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.DOTALL) is not None


def _compile_bash(spec: str) -> BashPattern:
    if spec == "*":
        return BashPattern("any")
    if spec.endswith(":*") or spec.endswith(" *"):
        kind, body = "prefix", spec[:-2].rstrip()
    else:
        kind, body = ("glob" if "*" in spec else "exact"), spec
    pre = body.split("*", 1)[0]
    lead = tuple(rough_words(pre))
    partial = ""
    if "*" in body and lead and not pre[-1:].isspace():
        lead, partial = lead[:-1], lead[-1]
    commands = split_rule_command(body)
    if commands is None or len(commands) != 1 or commands[0].redirects:
        if kind == "exact":  # e.g. `Bash(make build && make test)`: matches exactly that text
            return BashPattern("raw", raw=" ".join(spec.split()), lead=lead)
        raise ValueError(
            "a Bash pattern must be one simple command (no operators, substitutions or redirections)"
        )
    words = commands[0].argv
    if not words:
        raise ValueError("empty Bash command before `:*`")
    regex = None
    if kind == "glob":
        regex = re.compile(".*".join(re.escape(p) for p in join_argv(words).split("*")), re.DOTALL)
    return BashPattern(kind, words, regex, lead=lead, partial=partial)


def argv_matches(p: BashPattern, argv: tuple[str, ...]) -> bool:
    """Whether the words of ``argv`` match the pattern (its options are judged by ``_covers``)."""
    if p.kind == "exact":
        return argv == p.words
    if p.kind == "prefix":
        n = len(p.words)
        return len(argv) >= n and all(
            _word_matches(w, a, last=i == n - 1) for i, (w, a) in enumerate(zip(p.words, argv, strict=False))
        )
    return p.regex is not None and p.regex.fullmatch(join_argv(argv)) is not None


def _word_matches(want: str, word: str, *, last: bool) -> bool:
    if "*" in want:
        return _glob(want, word)
    # `Bash(git diff --output:*)` covers `git diff --output=x.patch` as it covers `--output x.patch`
    return want == word or (last and want.startswith("--") and word.startswith(want + "="))


def _bash_allow(
    p: BashPattern, command: str, commands: list[SimpleCommand] | None, *, blocked: bool, cwd: str
) -> bool:
    if p.kind == "any":
        return True
    if p.kind == "raw":
        return " ".join(command.split()) == p.raw
    if not commands or blocked:  # unverifiable, or empty: nothing for a rule to vouch for
        return False
    return all(_covers(p, cmd, cwd) for cmd in commands)


def covers_command(rule: Rule, cmd: SimpleCommand, cwd: str) -> bool:
    """Whether a specific ``Bash(...)`` allow rule allows this one simple command of a compound."""
    return (
        rule.bash is not None
        and rule.bash.kind in ("exact", "prefix", "glob")
        and _covers(rule.bash, cmd, cwd)
    )


def unnamed_hazards(rule: Rule, cmd: SimpleCommand, cwd: str) -> list[Hazard]:
    """The hazards of ``cmd`` that ``rule`` matches the words of but does not spell out."""
    if rule.bash is None or not argv_matches(rule.bash, cmd.argv):
        return []
    return _unnamed(rule.bash, cmd, cwd)


def _covers(p: BashPattern, cmd: SimpleCommand, cwd: str) -> bool:
    return argv_matches(p, cmd.argv) and not _unnamed(p, cmd, cwd)


def _unnamed(p: BashPattern, cmd: SimpleCommand, cwd: str) -> list[Hazard]:
    """Hazards (options that write, run programs, leave the workspace) the rule's words do not name.

    An exact rule names everything; a prefix rule names the words its prefix covers; a glob rule
    names the words it spells out literally.
    """
    if p.kind == "exact":
        return []
    argv = cmd.argv
    literal = {w for w in p.words if "*" not in w}
    found = []
    for h in hazards(argv, len(cmd.assignments), cwd):
        if not h.needs_rule:
            continue
        if p.kind == "prefix" and h.index < len(p.words) and "*" not in p.words[h.index]:
            continue
        if p.kind == "glob" and h.index < len(argv) and argv[h.index] in literal:
            continue
        found.append(h)
    return found


def _bash_deny(p: BashPattern, command: str, commands: list[SimpleCommand] | None) -> bool:
    if p.kind == "any":
        return True
    if p.kind == "raw" and p.raw in " ".join(command.split()):
        return True
    if commands is None or p.kind == "raw":
        return rough_match(p, command)
    for cmd in commands:
        if argv_matches(p, cmd.argv) or any(argv_matches(p, v) for v in cmd.views):
            return True
        if any(rough_match(p, text) for text in cmd.opaque):
            return True
    return False


def rough_match(p: BashPattern, text: str) -> bool:
    """Whether the rule's leading words appear anywhere in ``text``: for unparseable commands."""
    if not p.lead and not p.partial:
        return True
    words = rough_words(text)
    k = len(p.lead)
    for i in range(len(words) - k + 1):
        if not all(_rough_eq(words[i + j], p.lead[j]) for j in range(k)):
            continue
        if not p.partial:
            return True
        if i + k < len(words) and command_name(words[i + k]).startswith(p.partial):
            return True
        if i + k < len(words) and words[i + k].startswith(p.partial):
            return True
    return False


def _rough_eq(word: str, want: str) -> bool:
    if word == want or command_name(word) == want:
        return True
    # `/bin/r? -rf /` would run rm: a glob in the command may stand for the denied word
    return any(c in word for c in "*?[") and (
        fnmatchcase(want, word) or fnmatchcase(want, command_name(word))
    )


def _path_pattern(spec: str) -> tuple[str, str]:
    if spec.startswith(("!", "#")):
        raise ValueError("path patterns cannot start with `!` or `#`")
    if spec.startswith("//"):
        anchor, pattern = "root", spec[1:]
    elif spec == "~" or spec.startswith("~/"):
        anchor, pattern = "home", spec[1:] or "/**"
    elif spec.startswith("/"):
        anchor, pattern = "base", spec
    elif spec.startswith("./"):  # explicitly anchored at the cwd (plain `x` matches at any depth)
        anchor, pattern = "cwd", spec[1:]
    else:
        anchor, pattern = "cwd", spec
    if pattern.strip("/") in ("", "."):
        pattern = "/**"
    return anchor, pattern


def _path_hit(rule: Rule, path: str, call: Call) -> bool:
    anchor = {"root": "/", "home": call.home, "base": posixpath.normpath(str(rule.base_dir)), "cwd": call.cwd}
    base = anchor.get(rule.anchor, call.cwd)
    if base == "/":
        rel = path.lstrip("/")
    elif path == base:
        rel = ""
    elif path.startswith(base.rstrip("/") + "/"):
        rel = path[len(base.rstrip("/")) + 1 :]
    else:
        return False
    if rule.paths is None:
        return False
    if not rel:  # the anchor itself (Grep in the cwd): covered if any child would be
        return call.is_dir and bool(rule.paths.match_file("x") and rule.paths.match_file("x/y"))
    return bool(rule.paths.match_file(rel) or (call.is_dir and rule.paths.match_file(rel + "/")))


def _gitignore_spec(pattern: str) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])
