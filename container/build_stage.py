"""The Dockerfile's build stage: what goes into the image beside the venv, and how the venv is slimmed.

Run inside the build stage (tests/packaging/test_image_build.py checks the result by effect):

    python3 container/build_stage.py git-files DEST    # git's own files under DEST, its libraries' packages
    python container/build_stage.py slim-venv VENV     # bytecode for what runs, botocore data, strip

``git-files``: Debian's git package depends on Perl (47 MB) for a few scripts the runner never runs
(git-svn, send-email, the old `add -i`). The image gets git's files without the package: the
files ``dpkg -L git`` lists, minus Perl scripts, documentation and server-side programs, copied
under DEST (symlinks kept as symlinks; a program identical to one already copied, such as
/usr/lib/git-core/git, which Debian ships as a second copy of /usr/bin/git, becomes a symlink
to it), and ``DEST.packages``, git's dependencies minus Perl and
git-man, for the final stage's ``apt-get install``. dpkg never claims git is installed, so
``apt-get install git`` in an image built on this one installs the full package over these files.

``slim-venv``: bytecode only for the modules a run imports (found by importing them here, and by
running ``claude-runner demo`` with bytecode writing on), botocore's API models only for the
services credential resolution and Bedrock use, and extension modules without their symbol tables.
"""

from __future__ import annotations

import ast
import compileall
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Installed by the git package but not needed by a runner: the git server's programs (daemon, shell,
# http-backend), dumb-HTTP/WebDAV transport and mail (http-fetch, http-push, imap-send), Microsoft's
# scalar, gitweb, shell completion, contrib hooks, docs and translations (the slim base's dpkg
# excludes keep those out of every package). Perl scripts are found by their #! line.
GIT_SKIP = re.compile(
    r"^/usr/share/(doc|doc-base|man|info|locale|lintian|perl5|gitweb|bash-completion|git-core/contrib)/"
    r"|^/etc/bash_completion\.d/"
    r"|/(git-daemon|git-shell|git-http-backend|git-http-fetch|git-http-push|git-imap-send|scalar"
    r"|git-instaweb)$"
)
# git's Depends that are not libraries it needs at run time.
GIT_NOT_LIBS = {"perl", "liberror-perl", "git-man", "libc6"}

# botocore's API models the runner needs: STS (assume-role, web identity), SSO and SSO-OIDC and
# sign-in (profiles' credential providers), Bedrock's runtime (its event-stream shapes). Services
# botocore itself creates clients for are added by scanning its sources (_client_services).
BOTOCORE_KEEP = {"sts", "sso", "sso-oidc", "signin", "bedrock-runtime"}


def _is_perl(path: Path) -> bool:
    with path.open("rb") as handle:
        first = handle.readline(200)
    return first.startswith(b"#!") and b"perl" in first


def git_files(dest: Path) -> None:
    """git's files without Perl under ``dest``, its library packages in ``dest.packages``."""
    listed = subprocess.run(["dpkg", "-L", "git"], capture_output=True, text=True, check=True).stdout
    copied = 0
    seen: dict[bytes, Path] = {}  # content -> the first copy (Debian ships git twice: bin and git-core)
    for line in listed.splitlines():
        path = Path(line)
        if GIT_SKIP.search(line) or (path.is_dir() and not path.is_symlink()) or not path.exists():
            continue
        if not path.is_symlink() and _is_perl(path):
            continue
        target = dest / path.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        content = path.read_bytes() if path.stat().st_size > 65536 and not path.is_symlink() else b""
        if path.is_symlink():
            target.symlink_to(os.readlink(path))
        elif content and content in seen:
            target.symlink_to(seen[content])  # the same program under another name: no second copy
        else:
            shutil.copy2(path, target)
            if content:
                seen[content] = path
        copied += 1
    depends = subprocess.run(
        ["dpkg-query", "-W", "-f=${Depends}", "git"], capture_output=True, text=True, check=True
    ).stdout
    names = {re.split(r"[\s(:]", alt.strip())[0] for dep in depends.split(",") for alt in dep.split("|")[:1]}
    packages = sorted(name for name in names if name and name not in GIT_NOT_LIBS)
    Path(f"{dest}.packages").write_text(" ".join(packages) + "\n")
    print(f"git: {copied} files; libraries: {' '.join(packages)}")


def _runner_imports(package: Path) -> set[str]:
    """Every module name the runner's sources import, at top level or inside a function."""
    names: set[str] = set()
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _exercise() -> None:
    """What the imports alone do not load: boto3's clients and credential chain, as a Bedrock run
    makes them (no request is sent)."""
    try:
        import boto3

        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        session.client("sts")
        session.get_credentials()
        from anthropic.lib.bedrock._stream_decoder import get_response_stream_shape

        get_response_stream_shape()
    except ImportError:
        pass


def compile_what_runs(site: Path, package: Path) -> int:
    """Bytecode for the runner's package and every module importing the runner's code loads."""
    compileall.compile_dir(str(package), quiet=1)
    for name in sorted(_runner_imports(package)):
        try:
            importlib.import_module(name)
        except Exception:  # a name imported from a module, an optional dependency left out, ...
            continue
    _exercise()
    files = {
        Path(module.__file__)
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) and str(module.__file__).endswith(".py")
    }
    inside = sorted(f for f in files if site in f.parents)
    for file in inside:
        compileall.compile_file(str(file), quiet=1)
    return len(inside)


def _client_services(botocore: Path) -> set[str]:
    """The services botocore's own code creates clients for (credential and token providers)."""
    pattern = re.compile(
        r"(?:_client_creator|create_client|create_nested_client)\(\s*(?:[\w.]+,\s*)?['\"]([a-z0-9-]+)['\"]"
    )
    return {
        m.group(1) for f in botocore.glob("*.py") for m in pattern.finditer(f.read_text(encoding="utf-8"))
    }


def prune_botocore(site: Path) -> list[str]:
    """Remove the API models of services the runner never calls; returns the ones kept."""
    data = site / "botocore" / "data"
    if not data.is_dir():
        return []
    keep = BOTOCORE_KEEP | _client_services(site / "botocore")
    for service in data.iterdir():
        if service.is_dir() and service.name not in keep:
            shutil.rmtree(service)
    return sorted(p.name for p in data.iterdir() if p.is_dir())


def strip_extensions(site: Path) -> int:
    """``strip --strip-unneeded`` on the extension modules (not on the libraries auditwheel vendored
    into ``*.libs``, which patchelf rewrote); returns the bytes saved."""
    saved = 0
    for path in site.rglob("*.so"):
        if path.is_symlink() or any(part.endswith(".libs") for part in path.parts):
            continue
        before = path.stat().st_size
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


def whole_second_mtimes(site: Path) -> None:
    """Sources' mtimes rounded down to the second. A timestamp .pyc records its source's mtime in
    whole seconds, and the image's ``COPY --from`` rounds sub-second mtimes (seen with buildah: one
    second later than the build stage's), which made every .pyc stale: the image's user cannot
    write the venv, so each start compiled all of them in memory again."""
    for path in site.rglob("*.py"):
        whole = path.stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000
        os.utime(path, ns=(whole, whole), follow_symlinks=False)


def slim_venv(venv: Path) -> None:
    (site,) = venv.glob("lib/python3*/site-packages")
    whole_second_mtimes(site)
    kept = prune_botocore(site)
    print(f"botocore: kept the models of {', '.join(kept)}")
    print(f"strip: {strip_extensions(site) / 1e6:.1f} MB saved")
    count = compile_what_runs(site, site / "runner")
    print(f"bytecode: {count} modules outside the runner's package")


def demo_bytecode(venv: Path) -> None:
    """``claude-runner demo`` with bytecode writing on: whatever it imports gets its .pyc."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [str(venv / "bin" / "claude-runner"), "demo"], env=env, check=True, stdout=subprocess.DEVNULL
    )


def main(argv: list[str]) -> int:
    command, target = argv[1], Path(argv[2])
    if command == "git-files":
        git_files(target)
    elif command == "slim-venv":
        slim_venv(target)
        demo_bytecode(target)
    else:
        print(f"error: unknown command {command!r}: git-files or slim-venv", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
