"""``claude-runner demo``: one @claude mention or review, end to end, on this machine, in seconds.

Modules (none imports another in a cycle; only stdlib modules at the top of each, so the CLI
can list the scenarios cheaply):
- ``scenarios.py``: what a demo is (``Scenario``, ``SCENARIOS``, the scripted model's turns) and
  what a run left behind (``Outcome``).
- ``world.py``: what both platforms play in: the bare remote and the job's checkout (real git),
  the isolated git config, the variables of the caller's environment that may reach the job.
- ``github.py``, ``gitlab.py``: one scenario played through the real CI job against that
  platform's loopback fake.
- ``report.py``: ``run_demo``: pick the scenario, play it, print what the requester would see.
"""
