"""git, run for the living review: one InputError line for every failure, nothing written."""

from __future__ import annotations

import subprocess

from ..errors import InputError

# What the numbers are computed from (the code aside).
INPUTS = ("extraction", "analysis_plan.yml", "references.bib")


def git(root, *args: str, binary: bool = False):
    """Output of `git -C root ARGS`; InputError with git's first line of complaint on failure."""
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed, so no earlier revision can be read") from None
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed in {root}: {why[0] if why else f'exit {proc.returncode}'}")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")


def inputs_changed(root) -> bool:
    """Whether the working tree's inputs differ from the last commit (untracked files count)."""
    return bool(git(root, "status", "--porcelain", "--", *INPUTS).strip())
