"""The exceptions ragtrust raises on purpose, each carrying its HTTP status and error code.

Third-party errors (openai, httpx, FAISS, SQLAlchemy) are translated at the boundary that
meets them with ``raise ... from exc``, so routes map one hierarchy to one error envelope::

    RagtrustError
    ├── InvalidRequest          400  the request is well-formed JSON but makes no sense
    │   ├── EmptyDocument       422  a document has no extractable text
    │   ├── PiiBlocked          422  the question holds PII of a type the tenant blocks
    │   └── ContextTooLong      400  the prompt is longer than the model's window
    ├── Unauthorized            401  no API key, or an unknown or revoked one
    ├── Forbidden               403  the key's role may not do this
    ├── RateLimited             429  the key sent too many requests (see Retry-After)
    │   └── TooManyInFlight     429  ... or has too many of them in flight at once
    ├── UnknownTenant           404  no tenant of that name exists
    ├── NotFound                404  a document or other resource does not exist
    ├── QuotaExceeded           409  the upload would take the tenant over a quota
    ├── LLMError                503  the LLM server cannot answer right now
    │   ├── LLMUnavailable      503  connection refused / server not running
    │   ├── LLMServerError      503  the server answered with a 5xx
    │   └── LLMTimeout          503  no answer within RAGTRUST_LLM_TIMEOUT_S
    ├── DatabaseUnavailable     503  the database (tenants, keys, audit) cannot be reached
    ├── IndexWriteFailed        503  a new index version could not be written (old one kept)
    │   └── StorageFull         507  ... because the disk is full
    └── ModelNotPrepared        503  the embedded model checkpoint is missing
"""

from __future__ import annotations


class RagtrustError(Exception):
    status_code = 500
    code = "internal_error"
    type = "server_error"
    retry_after_s: int | None = None  # sent as Retry-After when set

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RagtrustError):
    status_code = 400
    code = "invalid_request"
    type = "invalid_request_error"


class EmptyDocument(InvalidRequest):
    status_code = 422
    code = "empty_document"


class PiiBlocked(InvalidRequest):
    """Names the entity types only: the values must not reach a log or a client."""

    status_code = 422
    code = "pii_blocked"


class Unauthorized(RagtrustError):
    status_code = 401
    code = "invalid_api_key"
    type = "authentication_error"


class Forbidden(RagtrustError):
    status_code = 403
    code = "permission_denied"
    type = "permission_error"


class RateLimited(RagtrustError):
    status_code = 429
    code = "rate_limit_exceeded"
    type = "rate_limit_error"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class TooManyInFlight(RateLimited):
    code = "too_many_requests_in_flight"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=1)


class ContextTooLong(InvalidRequest):
    code = "context_length_exceeded"


class UnknownTenant(RagtrustError):
    status_code = 404
    code = "unknown_tenant"
    type = "not_found_error"


class NotFound(RagtrustError):
    status_code = 404
    code = "not_found"
    type = "not_found_error"


class QuotaExceeded(RagtrustError):
    """The request is fine, the tenant's state is not: deleting documents (or a higher
    quota) resolves it, so 409 rather than 413 (which says the body itself is too large)."""

    status_code = 409
    code = "quota_exceeded"
    type = "invalid_request_error"


class LLMError(RagtrustError):
    status_code = 503
    code = "llm_error"
    type = "service_unavailable"
    retry_after_s = 10


class LLMUnavailable(LLMError):
    code = "llm_unavailable"


class LLMServerError(LLMError):
    code = "llm_server_error"


class LLMTimeout(LLMError):
    code = "llm_timeout"


class DatabaseUnavailable(RagtrustError):
    status_code = 503
    code = "database_unavailable"
    type = "service_unavailable"
    retry_after_s = 5


class TooManyExports(RagtrustError):
    status_code = 503
    code = "too_many_exports"
    type = "service_unavailable"
    retry_after_s = 10


class IndexWriteFailed(RagtrustError):
    status_code = 503
    code = "index_write_failed"
    type = "service_unavailable"
    retry_after_s = 30


class StorageFull(IndexWriteFailed):
    status_code = 507
    code = "insufficient_storage"


class ModelNotPrepared(RagtrustError):
    status_code = 503
    code = "model_not_prepared"
    type = "service_unavailable"
