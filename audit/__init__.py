"""Compliance audit log: one tamper-evident record per request, exportable."""
