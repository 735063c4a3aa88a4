"""container/build_stage.py, the Dockerfile's build stage helper, on this machine: git's files
without Perl, and botocore's models pruned to what credentials and Bedrock use (the built image is
checked by effect in test_image_build.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "container"))
import build_stage


def test_botocore_keeps_what_credentials_and_bedrock_use(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    data = site / "botocore" / "data"
    for service in ("ec2", "s3", "sts", "sso", "bedrock-runtime", "newly-needed"):
        (data / service / "2020-01-01").mkdir(parents=True)
        (data / service / "2020-01-01" / "service-2.json.gz").write_bytes(b"model")
    (data / "endpoints.json").write_text("{}")
    # a credential provider botocore might add: its service is found in the sources and kept
    (site / "botocore" / "credentials.py").write_text("client = self._client_creator('newly-needed')\n")
    kept = build_stage.prune_botocore(site)
    assert kept == ["bedrock-runtime", "newly-needed", "sso", "sts"]
    assert sorted(p.name for p in data.iterdir()) == sorted([*kept, "endpoints.json"])


def test_the_installed_botocore_creates_clients_the_keep_list_covers() -> None:
    botocore = pytest.importorskip("botocore")
    found = build_stage._client_services(Path(botocore.__file__).parent)
    # STS (assume-role, web identity), SSO and its OIDC tokens: found in botocore's own sources
    assert {"sts", "sso", "sso-oidc"} <= found


def test_git_files_without_perl(tmp_path: Path) -> None:
    if not shutil.which("dpkg") or subprocess.run(["dpkg", "-s", "git"], capture_output=True).returncode:
        pytest.skip("git is not a Debian package here")
    dest = tmp_path / "git-root"
    build_stage.git_files(dest)
    git = dest / "usr" / "bin" / "git"
    assert subprocess.run([str(git), "--version"], capture_output=True, text=True).stdout.startswith("git ")
    core = dest / "usr" / "lib" / "git-core"
    assert (core / "git-remote-https").is_symlink() and (core / "git-remote-http").is_file()
    assert (core / "git-sh-setup").is_file()
    assert (dest / "usr" / "share" / "git-core" / "templates" / "info" / "exclude").is_file()
    # no Perl script, no Perl module, no server program
    for path in dest.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert b"perl" not in path.read_bytes()[:200].split(b"\n")[0], path
    assert not (dest / "usr" / "share" / "perl5").exists()
    assert not (core / "git-http-backend").exists() and not (core / "git-daemon").exists()
    # no translations (the slim base's dpkg keeps them out of packages), one copy of the git program
    assert not (dest / "usr" / "share" / "locale").exists()
    assert (core / "git").is_symlink() or (dest / "usr" / "bin" / "git").is_symlink()
    packages = Path(f"{dest}.packages").read_text().split()
    assert "perl" not in packages and "git-man" not in packages
    assert any(name.startswith("libcurl") for name in packages)
