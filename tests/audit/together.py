"""Processes that start their real work at the same moment, for the concurrency tests."""

from __future__ import annotations

import subprocess

from rag.core.settings import ROOT


def start_together(commands: list[list[str]]) -> list[subprocess.Popen[str]]:
    """Start each command, wait until all have printed "ready" (imports done, about to work),
    then release them at once with a line on their stdin."""
    procs = [
        subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for cmd in commands
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n", p.communicate()[1]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs
