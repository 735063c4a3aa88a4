"""Local git for the runner: argv lists (never a shell), plain values in and out.

The agent edits files; the runner alone commits and pushes, with its own token, after the turn.
Everything here protects that split:

* git runs with an environment scrubbed of credentials, no pager, no prompts, no system config,
  and with hooks and fsmonitor switched off, so nothing the agent wrote (``.git/hooks``, a
  ``core.hooksPath`` in ``.git/config``) runs while a token is around;
* the push token travels in ``GIT_CONFIG_*`` environment variables of the one git process that
  needs it: never in argv (visible in ``ps``), never in a URL, never in ``.git/config``;
* branch names are validated as git refs, and a push to a protected branch is refused here.

The package: ``core`` runs git; ``branches`` names branches; ``credentials`` handles tokens;
``repo`` holds the operations (checkout, fetch, commit, push); ``status`` what changed in the
worktree; ``diffs`` merge bases (deepening shallow clones) and diffs; ``rescue`` what keeps
commits a push could not deliver (rebase, patch, bundle); ``lfs`` Git LFS; ``signing`` commits
signed with an SSH key; ``changes`` a commit's files, for commits made through a host's API. Everything is
re-exported here, so callers write ``from runner import git`` and ``git.push(...)``.
"""

from runner.git.changes import FileChange as FileChange
from runner.git.changes import changes_between as changes_between
from runner.git.changes import commit_message as commit_message
from runner.git.changes import is_ancestor as is_ancestor
from runner.git.core import verify_fingerprint as verify_fingerprint
from runner.git.diffs import DEEPEN_STEPS as DEEPEN_STEPS
from runner.git.diffs import diff_names as diff_names
from runner.git.diffs import diff_stat as diff_stat
from runner.git.diffs import find_merge_base as find_merge_base
from runner.git.diffs import merge_base as merge_base
from runner.git.diffs import merge_base_diff as merge_base_diff
from runner.git.diffs import range_diff as range_diff
from runner.git.diffs import range_names as range_names
from runner.git.diffs import worktree_diff as worktree_diff
from runner.git.lfs import LFS_FILTER_CONFIG as LFS_FILTER_CONFIG
from runner.git.lfs import lfs_installed as lfs_installed
from runner.git.lfs import lfs_paths as lfs_paths
from runner.git.lfs import lfs_push as lfs_push
from runner.git.lfs import pointer_oids as pointer_oids
from runner.git.repo import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from runner.git.repo import BranchNameError as BranchNameError
from runner.git.repo import GitError as GitError
from runner.git.repo import NonFastForward as NonFastForward
from runner.git.repo import auth_env as auth_env
from runner.git.repo import checkout_detached as checkout_detached
from runner.git.repo import checkout_existing_branch as checkout_existing_branch
from runner.git.repo import checkout_new_branch as checkout_new_branch
from runner.git.repo import commit_all as commit_all
from runner.git.repo import config_fingerprint as config_fingerprint
from runner.git.repo import current_branch as current_branch
from runner.git.repo import deepen as deepen
from runner.git.repo import default_branch as default_branch
from runner.git.repo import fetch as fetch
from runner.git.repo import fetch_ref as fetch_ref
from runner.git.repo import head_sha as head_sha
from runner.git.repo import is_shallow as is_shallow
from runner.git.repo import push as push
from runner.git.repo import push_command as push_command
from runner.git.repo import render_branch_name as render_branch_name
from runner.git.repo import run_git as run_git
from runner.git.repo import slugify as slugify
from runner.git.repo import stage as stage
from runner.git.repo import strip_persisted_credentials as strip_persisted_credentials
from runner.git.repo import validate_branch_name as validate_branch_name
from runner.git.rescue import rebase_onto as rebase_onto
from runner.git.rescue import write_bundle as write_bundle
from runner.git.rescue import write_patch as write_patch
from runner.git.signing import CommitSigning as CommitSigning
from runner.git.signing import ssh_signing as ssh_signing
from runner.git.status import DEFAULT_MAX_FILE_BYTES as DEFAULT_MAX_FILE_BYTES
from runner.git.status import LargeFile as LargeFile
from runner.git.status import SubmoduleChange as SubmoduleChange
from runner.git.status import changed_files as changed_files
from runner.git.status import has_changes as has_changes
from runner.git.status import oversized_files as oversized_files
from runner.git.status import submodule_changes as submodule_changes

__all__ = [
    "DEEPEN_STEPS",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_TIMEOUT",
    "LFS_FILTER_CONFIG",
    "BranchNameError",
    "CommitSigning",
    "FileChange",
    "GitError",
    "LargeFile",
    "NonFastForward",
    "SubmoduleChange",
    "auth_env",
    "changed_files",
    "changes_between",
    "checkout_detached",
    "checkout_existing_branch",
    "checkout_new_branch",
    "commit_all",
    "commit_message",
    "config_fingerprint",
    "current_branch",
    "deepen",
    "default_branch",
    "diff_names",
    "diff_stat",
    "fetch",
    "fetch_ref",
    "find_merge_base",
    "has_changes",
    "head_sha",
    "is_ancestor",
    "is_shallow",
    "lfs_installed",
    "lfs_paths",
    "lfs_push",
    "merge_base",
    "merge_base_diff",
    "oversized_files",
    "pointer_oids",
    "push",
    "push_command",
    "range_diff",
    "range_names",
    "rebase_onto",
    "render_branch_name",
    "run_git",
    "slugify",
    "ssh_signing",
    "stage",
    "strip_persisted_credentials",
    "submodule_changes",
    "validate_branch_name",
    "verify_fingerprint",
    "worktree_diff",
    "write_bundle",
    "write_patch",
]
