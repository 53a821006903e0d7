"""``ragtrust eval ...``: the evaluation commands.

Their names and JSON keys are contracts other checks rely on (DESIGN.md): keep them stable.
Each command prints one JSON object on stdout with ``--json``; progress goes to stderr.
"""

from __future__ import annotations

import typer
from rich.console import Console

eval_app = typer.Typer(help="Evaluations on labelled data.", no_args_is_help=True)

console = Console(stderr=True)
out = Console()
