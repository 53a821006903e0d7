"""Migrations of the PostgreSQL index backend (``retrieval.pg_schema.upgrade``)."""
