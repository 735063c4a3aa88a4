"""The quick acknowledgement of ``claude-runner github``: the tracking comment posted before the
job's settings are built, with the standard library only (see ``github.py``).

Nothing here imports ``dataclasses``, ``typing`` or another ``runner`` package at run time, nor
compiles a regular expression: these modules load in the first milliseconds of a job. The full run
reads and checks the same settings afterwards and takes over what was done (``handover.py``).
"""
