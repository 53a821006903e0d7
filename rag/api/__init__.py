"""The HTTP layer: dependencies, auth, middleware, the error envelope, streaming, the chat
endpoint, observability, the per-request audit record and the audit routes."""
