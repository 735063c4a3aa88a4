"""Failures injected into a `claude-runner` subprocess (on PYTHONPATH in tests/cli/test_no_traceback.py).

INJECT_MISSING=boto3: importing it fails as if the package were not installed.
INJECT_BUG=runner.x: importing that module raises RuntimeError (a bug the handler must catch).
INJECT_SIGINT=anthropic: importing it sends the process SIGINT (Ctrl-C while the SDK loads).
"""

import os
import signal
import sys


class _Inject:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("INJECT_MISSING") or name.startswith(
            os.environ.get("INJECT_MISSING", "-") + "."
        ):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name == os.environ.get("INJECT_BUG"):
            raise RuntimeError(f"injected failure importing {name}")
        if name == os.environ.get("INJECT_SIGINT"):
            os.environ.pop("INJECT_SIGINT")
            os.kill(os.getpid(), signal.SIGINT)
        return None


sys.meta_path.insert(0, _Inject())
