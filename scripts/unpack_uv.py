"""Take the `uv` binary out of the uv wheel that `pip download` left in DIR, as DIR/uv.

Used by the action's install step (action.yml): the wheel's only payload is the binary (in
``uv-<version>.data/scripts/``), so unpacking it is all an install would do. Standard library only,
run with ``python -I``.
"""

from __future__ import annotations

import stat
import sys
import zipfile
from pathlib import Path


def unpack(directory: Path) -> Path:
    """DIR/uv from the one uv wheel in DIR; raises SystemExit with a one-line reason otherwise."""
    wheels = sorted(directory.glob("uv-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"unpack_uv: expected one uv wheel in {directory}, found {len(wheels)}")
    target = directory / "uv"
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = [n for n in wheel.namelist() if n.endswith(".data/scripts/uv")]
        if len(names) != 1:
            raise SystemExit(f"unpack_uv: no uv binary in {wheels[0].name}")
        target.write_bytes(wheel.read(names[0]))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    wheels[0].unlink()
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: unpack_uv.py DIR")
    unpack(Path(sys.argv[1]))
