"""The consoles every ``ragtrust`` command prints to: results on stdout, progress and errors
on stderr (so ``--json`` output and ``--quiet`` keys stay clean to pipe)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(stderr=True)
out = Console()


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)
