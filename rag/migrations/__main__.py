"""Alembic's command line on ragtrust's migrations, against RAGTRUST_DATABASE_URL
(e.g. ``python -m rag.migrations revision --autogenerate -m "..."``, ``... current``)."""

from __future__ import annotations

from alembic.config import CommandLine

from rag.migrations import config


def main() -> None:
    cli = CommandLine(prog="python -m rag.migrations")
    cli.run_cmd(config(), cli.parser.parse_args())


if __name__ == "__main__":
    main()
