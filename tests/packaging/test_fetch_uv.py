"""scripts/fetch_uv.py: the pinned uv from the job's index with the standard library, hash-checked.

Against a loopback index (tests/packaging/fake_index.py) serving a fake uv wheel; the script runs
as the action runs it, ``python -I`` in a subprocess, beside its own uv-requirements.txt.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.packaging import fake_index
from tests.packaging.fake_index import FakeIndex, serve
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(
    sys.platform not in ("linux", "darwin"), reason="the fast path is for Linux and macOS"
)


def _env(**extra: str) -> dict[str, str]:
    """The process environment without any index, proxy or uv/pip setting of the machine's own."""
    drop = ("PIP_", "UV_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    return {**env, **extra}


def _fetch(script: Path, target: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    target.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-I", str(script), str(target)], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("style", ["json", "html"])
def test_fetches_the_pinned_wheel_and_unpacks_its_binary(tmp_path: Path, style: str) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel, style=style)) as index:
        done = _fetch(script, tmp_path / "out", _env(UV_DEFAULT_INDEX=index.url))
    assert done.returncode == 0, done.stderr
    uv = tmp_path / "out" / "uv"
    assert subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout.startswith(
        "uv 0.13.9"
    )
    assert list((tmp_path / "out").iterdir()) == [uv]  # only the binary: no wheel left behind
    paths = [path for path, _headers in index.requests]
    assert paths == ["/simple/uv/", f"/files/{index.filename}"]
    assert "application/vnd.pypi.simple.v1+json" in index.requests[0][1]["Accept"]


def test_a_wheel_whose_hash_is_not_pinned_is_refused(tmp_path: Path) -> None:
    served = fake_index.uv_wheel()
    pinned = fake_index.uv_wheel(fake_index.FAKE_UV + "# another build\n")
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(pinned))
    # the page lists the hash the pin expects, but the file served is another
    with serve(FakeIndex(served, listed_sha256=fake_index.hashlib.sha256(pinned).hexdigest())) as index:
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=index.url))
    assert done.returncode == 1
    assert done.stderr.startswith("fetch_uv: uv-0.13.9-py3-none-")
    assert "not one that uv-requirements.txt pins: refused" in done.stderr
    assert not (tmp_path / "out" / "uv").exists()


def test_a_page_listing_an_unpinned_hash_is_refused_before_the_download(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel, listed_sha256="1" * 64)) as index:
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=index.url))
    assert done.returncode == 1
    assert "with a sha256 that uv-requirements.txt does not pin" in done.stderr
    assert [path for path, _ in index.requests] == ["/simple/uv/"]


def test_uv_settings_win_over_pip_index_url(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel)) as good, serve(FakeIndex(wheel)) as other:
        for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
            done = _fetch(script, tmp_path / name, _env(**{name: good.url, "PIP_INDEX_URL": other.url}))
            assert done.returncode == 0, done.stderr
    assert len(good.requests) == 4 and other.requests == []


@pytest.mark.parametrize("setting", ["http_proxy", "PIP_PROXY"])
def test_the_jobs_proxy_is_used(tmp_path: Path, setting: str) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel)) as proxy:
        root = proxy.url.removesuffix("/simple")
        # the index's host does not resolve: only the proxy can reach it
        done = _fetch(
            script, tmp_path / "out", _env(UV_DEFAULT_INDEX="http://index.invalid/simple", **{setting: root})
        )
    assert done.returncode == 0, done.stderr
    assert [path for path, _ in proxy.requests] == [
        "http://index.invalid/simple/uv/",
        f"http://index.invalid/files/{proxy.filename}",
    ]


def test_the_index_credentials_go_to_the_index_host_only(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    files = FakeIndex(wheel)
    with serve(files, host="127.0.0.2") as files_host:
        files_base = files_host.url.removesuffix("/simple")
        with serve(FakeIndex(wheel, files_base=files_base)) as index:
            secret_url = index.url.replace("http://", "http://ci%40corp:s3cr%2Ft@")
            done = _fetch(script, tmp_path / "out", _env(UV_DEFAULT_INDEX=secret_url))
    assert done.returncode == 0, done.stderr
    expected = "Basic " + base64.b64encode(b"ci@corp:s3cr/t").decode()
    assert [h.get("Authorization") for _, h in index.requests] == [expected]
    assert [(p, h.get("Authorization")) for p, h in files.requests] == [(f"/files/{files.filename}", None)]


def test_a_failure_names_the_index_without_its_credentials(tmp_path: Path) -> None:
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(b"x"))
    with serve(FakeIndex(b"x")) as index:
        missing = index.url.replace("http://", "http://user:hunter2@") + "/nothing"
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=missing))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "404" in done.stderr
    assert "hunter2" not in done.stderr and "127.0.0.1" in done.stderr


@pytest.mark.parametrize("setting", ["PIP_NO_INDEX", "UV_NO_INDEX", "UV_OFFLINE"])
def test_a_job_without_an_index_is_left_to_pip(tmp_path: Path, setting: str) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel)) as index:
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=index.url, **{setting: "1"}))
    assert done.returncode == 1
    assert done.stderr == f"fetch_uv: {setting} is set: left to pip\n"
    assert index.requests == []


def test_no_wheel_for_this_machine_is_left_to_pip(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel()
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel, filename="uv-0.13.9-py3-none-manylinux_2_17_s390x.whl")) as index:
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=index.url))
    assert done.returncode == 1
    assert "the index has no uv 0.13.9 wheel for" in done.stderr


def test_a_binary_that_is_not_the_pinned_uv_is_removed(tmp_path: Path) -> None:
    wheel = fake_index.uv_wheel("#!/bin/sh\necho 'uv 0.1.0'\n")
    script = fake_index.write_scripts(tmp_path / "scripts", fake_index.requirements(wheel))
    with serve(FakeIndex(wheel)) as index:
        done = _fetch(script, tmp_path / "out", _env(PIP_INDEX_URL=index.url))
    assert done.returncode == 1
    assert "does not run here" in done.stderr
    assert not (tmp_path / "out" / "uv").exists()


def _wheel_file(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return path


def test_unpack_takes_the_binary_out_of_the_wheel_pip_downloaded(tmp_path: Path) -> None:
    _wheel_file(
        tmp_path / "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl",
        {"uv-0.13.9.data/scripts/uv": "#!/bin/sh\necho uv 0.13.9\n", "uv/__init__.py": ""},
    )
    script = fake_index.write_scripts(tmp_path / "scripts", "")
    done = subprocess.run(
        [sys.executable, "-I", str(script), "--unpack", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    uv = tmp_path / "uv"
    assert subprocess.run([str(uv)], capture_output=True, text=True).stdout == "uv 0.13.9\n"
    assert not list(tmp_path.glob("*.whl"))


def test_unpack_refuses_a_wheel_without_the_binary(tmp_path: Path) -> None:
    _wheel_file(tmp_path / "uv-0.13.9-py3-none-any.whl", {"uv/__init__.py": ""})
    script = fake_index.write_scripts(tmp_path / "scripts", "")
    done = subprocess.run(
        [sys.executable, "-I", str(script), "--unpack", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr == "fetch_uv: no uv binary in uv-0.13.9-py3-none-any.whl\n"
    assert not (tmp_path / "uv").exists()


def _module() -> Any:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import fetch_uv
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    return fetch_uv


# uv 0.13.9's wheels for the platforms uv-requirements.txt pins, and two it does not
UV_WHEELS = [
    "uv-0.13.9-py3-none-macosx_10_12_x86_64.whl",
    "uv-0.13.9-py3-none-macosx_11_0_arm64.whl",
    "uv-0.13.9-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
    "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "uv-0.13.9-py3-none-manylinux_2_28_aarch64.whl",
    "uv-0.13.9-py3-none-musllinux_1_1_x86_64.whl",
    "uv-0.13.9-py3-none-manylinux_2_17_armv7l.manylinux2014_armv7l.whl",
    "uv-0.13.9-py3-none-win_amd64.whl",
    "uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
]


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (("x86_64", "Linux", (2, 35)), "manylinux_2_17_x86_64.manylinux2014_x86_64"),
        (("aarch64", "Linux", (2, 35)), "manylinux_2_28_aarch64"),  # the newest glibc it allows
        (("aarch64", "Linux", (2, 27)), "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64"),
        (("arm64", "Darwin", (14, 5)), "macosx_11_0_arm64"),
        (("x86_64", "Darwin", (13, 0)), "macosx_10_12_x86_64"),
    ],
)
def test_the_wheel_chosen_is_the_pinned_versions_for_this_machine(
    machine: tuple[str, str, tuple[int, int]], expected: str
) -> None:
    files = [(name, f"https://files.example/{name}", None) for name in UV_WHEELS]
    name, url, _ = _module().choose_wheel(files, "0.13.9", machine)
    assert name == f"uv-0.13.9-py3-none-{expected}.whl" and url.endswith(name)


@pytest.mark.parametrize(
    "machine",
    [("x86_64", "Linux", (2, 12)), ("arm64", "Darwin", (10, 15)), ("riscv64", "Linux", (2, 39))],
)
def test_a_machine_no_pinned_wheel_fits_is_left_to_pip(machine: tuple[str, str, tuple[int, int]]) -> None:
    files = [(name, f"https://files.example/{name}", None) for name in UV_WHEELS]
    with pytest.raises(_module().FetchError, match=r"the index has no uv 0\.13\.9 wheel for"):
        _module().choose_wheel(files, "0.13.9", machine)
