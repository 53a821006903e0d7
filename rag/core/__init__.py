"""The base every package may import: errors, settings, the database base, shared types.

It imports nothing of ours (an import-linter contract in pyproject.toml checks it).
"""
