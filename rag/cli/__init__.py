"""The `ragtrust` command line (Typer); `main.app` is the console script."""
