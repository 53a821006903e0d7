"""All configuration in one place, read from the environment (prefix ``RAGTRUST_``) or ``.env``.

Relative paths resolve against the repository root so that `make run`, the tests and the
CLI agree on where models, indexes and the database live, whatever the working directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.core.entities import DEFAULT_ENTITIES, Action
from rag.core.types import PresetName, RetrievalMode

ROOT = Path(__file__).resolve().parents[2]

Precision = Literal["bf16", "int8", "int4"]


def checkpoint_name(precision: str) -> str:
    """The served model name, and directory name under MODELS_DIR, of a prepared checkpoint."""
    return f"smollm2-135m-instruct-{precision}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAGTRUST_", env_file=".env", extra="ignore")

    data_dir: Path = Field(ROOT / "data", description="Indexes, the database and logs.")
    models_dir: Path = Field(ROOT / "data" / "models", description="Prepared LLM checkpoints.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite at DATA_DIR/ragtrust.db."
    )

    # LLM: an external vLLM endpoint, or the embedded server this process starts.
    llm_base_url: str = Field(
        "",
        description="OpenAI-compatible endpoint (e.g. http://gpu:8000/v1), or several, "
        "comma-separated: each tenant keeps to one (its prefix cache stays warm there) and the "
        "next takes over while it refuses connections or fails with 5xx; empty = embedded.",
    )
    llm_model: str = Field("", description="Served model name at LLM_BASE_URL (every one).")
    llm_api_key: str = Field(
        "EMPTY",
        description="API key for LLM_BASE_URL (the embedded server gets a random one per start).",
    )
    llm_cache_salt_key: SecretStr = Field(
        SecretStr(""),
        description="HMAC key that derives each tenant's vLLM prefix-cache salt (replicas "
        "sharing LLM servers set the same one); empty = a random key generated once into "
        "DATA_DIR/llm-cache-salt.key (mode 0600).",
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Per-request timeout to the LLM.")
    llm_precision: Precision = Field(
        "int8",
        description="Weights of the embedded model; int8 (W8A8) measured best for batched "
        "serving, bf16 for a single stream (bench/results/model.json).",
    )
    llm_port: int = Field(8001, description="Port of the embedded vLLM server.")
    llm_python: Path = Field(
        ROOT / ".venv-llm" / "bin" / "python", description="Python of the vLLM virtualenv."
    )
    llm_startup_timeout_s: float = Field(
        600.0, gt=0, description="Seconds the embedded vLLM server may take to become ready."
    )
    llm_kv_cache_gib: int = Field(2, ge=1, description="VLLM_CPU_KVCACHE_SPACE of the server.")
    llm_max_model_len: int = Field(
        4096, ge=512, description="Context length (tokens) of the embedded vLLM server."
    )
    llm_compile: bool = Field(
        False,
        description="torch.compile the embedded model: ~20% faster decode, ~2 min slower start.",
    )
    max_answer_tokens: int = Field(160, ge=16, le=2048, description="Longest answer, in tokens.")

    # Retrieval
    embedding_model: str = Field("", description="SentenceTransformer path; empty = packaged.")
    embedding_backend: Literal["onnx-int8", "torch"] = Field(
        "onnx-int8",
        description="onnx-int8: the same model with int8 weights under ONNX Runtime, ~2.6x "
        "faster ingestion on CPU; torch: the fp32 sentence-transformers model.",
    )
    index_backend: Literal["files", "postgres"] = Field(
        "files",
        description="Where tenants' chunks, vectors and BM25 statistics live: index files "
        "under DATA_DIR/indexes (one machine), or PostgreSQL with pgvector at DATABASE_URL "
        "(shared by every replica).",
    )
    retrieval_mode: RetrievalMode = Field("hybrid", description="Default retrieval mode.")
    retrieval_candidates: int = Field(
        100, ge=10, le=2000, description="Candidates each retriever hands to fusion."
    )
    max_document_bytes: int = Field(
        20_000_000, ge=1024, description="Largest file or upload accepted for ingestion."
    )
    max_title_chars: int = Field(
        500,
        ge=10,
        description="Longest document title (every chunk repeats it): a longer one in JSON "
        "or JSONL is refused, one taken from a file's heading or <title> is cut.",
    )
    max_source_chars: int = Field(
        1000, ge=10, description="Longest document source or upload file name."
    )
    max_pdf_pages: int = Field(2000, ge=1, description="Most pages of a PDF accepted.")
    max_tenant_documents: int = Field(
        100_000, ge=1, description="Documents one tenant may hold (per tenant: `tenants set`)."
    )
    max_tenant_chunks: int = Field(
        250_000, ge=1, description="Chunks one tenant's index may hold (per tenant likewise)."
    )
    max_tenant_bytes: int = Field(
        500_000_000,
        ge=1024,
        description="UTF-8 bytes of one tenant's chunks, titles and sources included (per "
        "tenant likewise).",
    )
    chunk_size: int = Field(
        1000,
        ge=100,
        description="Characters per chunk (~220 tokens: inside the embedding "
        "model's 256-token window, so no chunk text goes unembedded).",
    )
    chunk_overlap: int = Field(100, ge=0, description="Characters shared by neighbouring chunks.")
    top_k: int = Field(3, ge=1, le=50, description="Chunks given to the model.")
    answer_mode: Literal["extractive", "generative", "auto"] = Field(
        "extractive",
        description="extractive: quote the units (sentences, list items, table rows) that "
        "answer, with the LLM's samples checking them; generative: the LLM writes the answer; "
        "auto: extractive on the embedded model, generative on LLM_BASE_URL. On the embedded "
        "135M model extractive answered 0.87 of SQuAD dev questions right, generative 0.25.",
    )

    # Trust (issue 4): per-request preset and per-tenant threshold override these defaults.
    trust_preset: PresetName = Field(
        "balanced", description="Default trust preset: which signals each answer pays for."
    )
    trust_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Answers whose trust score is below this are flagged."
    )
    trust_samples: int = Field(
        5, ge=1, le=20, description="Stochastic samples (one n=k request) for self-consistency."
    )
    trust_sample_temperature: float = Field(
        0.8, gt=0.0, le=2.0, description="Sampling temperature of the consistency samples."
    )
    trust_sample_max_tokens: int = Field(
        32, ge=8, le=512, description="Length cap of each consistency sample."
    )
    trust_calibration: Path = Field(
        ROOT / "data" / "trust" / "calibration.json",
        description="Calibration parameters (`ragtrust trust calibrate` writes them).",
    )
    trust_calibration_extractive: Path = Field(
        ROOT / "data" / "trust" / "calibration-extractive.json",
        description="Calibration of extractive answers' trust (fitted on SQuAD dev).",
    )

    # Cost: what each answer reports in `cost` (per token by default; per GPU-second if set).
    cost_currency: str = Field("USD", max_length=8, description="Currency of `cost`.")
    price_per_1k_prompt_tokens: float = Field(
        0.00002, ge=0, description="Default: what hosted APIs charge for a small Llama."
    )
    price_per_1k_completion_tokens: float = Field(
        0.00005, ge=0, description="Price per 1,000 completion tokens."
    )
    price_per_gpu_second: float = Field(
        0.0, ge=0, description="When > 0, cost is LLM time x this (e.g. 0.00075 = $2.70/h)."
    )

    # API
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, description="Port of the API.")
    max_question_chars: int = Field(4000, ge=10, description="Longest question, in characters.")
    max_scored_answer_chars: int = Field(
        10_000, ge=10, description="Longest answer `/v1/score` accepts, in characters."
    )
    max_context_item_chars: int = Field(
        20_000, ge=10, description="Longest `/v1/score` context item, in characters."
    )
    max_context_chars: int = Field(
        50_000,
        ge=10,
        description="All `/v1/score` context items together, in characters (PII detection "
        "costs up to ~20 ms per 1,000 characters of dense PII).",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Request body limit (uploads: MAX_DOCUMENT_BYTES)."
    )
    metrics_tenant_label: bool = Field(
        False, description="Label answer metrics by tenant (a series per tenant)."
    )
    metrics_token: str = Field(
        "", description="Bearer token /metrics requires; empty = open (bind to a private net)."
    )
    rate_limit: str = Field(
        "600/minute",
        description="Requests per API key (`limits` syntax, e.g. 10/second); empty = none.",
    )
    rate_limit_storage_url: str = Field(
        "",
        description="Where the per-key and per-address budgets are counted, shared by every "
        "replica: a `limits` storage URL such as redis://redis-host:6379/0; empty = this "
        "process's memory (one replica). A store that fails is skipped for 10 s (requests "
        "pass; a warning is logged).",
    )
    max_in_flight_per_key: int = Field(
        16,
        ge=1,
        description="Requests one API key may have in flight at once; more are refused with "
        "429 before their body is read, so one caller's many connections cannot take the "
        "CPU from every other tenant.",
    )
    work_slots: int = Field(
        0,
        ge=0,
        description="CPU-bound request steps (retrieval, PII detection, quote selection, "
        "trust's grounding and sample embedding) run at once; a freed slot goes to the waiting "
        "tenant with the fewest running, so one tenant's many requests take turns with "
        "another's one. 0 = the number of CPUs; twice that gives a lone tenant ~15% more "
        "answers/s and other tenants less isolation.",
    )
    anonymous_rate_limit: str = Field(
        "60/minute",
        description="Requests to /v1/ per client address that fail to authenticate (no key, "
        "or a 401); over it, the address gets 429 before its body is read. Empty = none.",
    )
    log_format: Literal["auto", "text", "json"] = Field(
        "auto",
        description="auto: one-line text when stderr is a terminal, JSON lines otherwise "
        "(files, pipes, log collectors).",
    )

    # Privacy (issue 5): defaults for every tenant; `ragtrust privacy policy set` overrides
    # them per tenant.
    privacy_enabled: bool = Field(
        True, description="Pseudonymize PII in the question and context before the LLM call."
    )
    privacy_entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES), description="Entity types protected."
    )
    privacy_score_threshold: float = Field(
        0.4, ge=0.0, le=1.0, description="Minimum detection score, unless set per type."
    )
    privacy_thresholds: dict[str, float] = Field(
        default_factory=dict, description='Per-type score thresholds, e.g. {"PERSON": 0.6}.'
    )
    privacy_actions: dict[str, Action] = Field(
        default_factory=dict,
        description='Per-type action: pseudonymize (default), redact or block, e.g. {"US_SSN": '
        '"block"}.',
    )

    # Audit (issue 7)
    audit_signing_key: SecretStr = Field(
        SecretStr(""),
        description="HMAC key that signs audit chain heads and prune checkpoints; empty = a "
        "random key generated once into DATA_DIR/audit-signing.key (mode 0600).",
    )
    audit_key_from_env_only: bool = Field(
        False,
        description="Production: refuse to start unless RAGTRUST_AUDIT_SIGNING_KEY is set "
        "(never read or generate DATA_DIR/audit-signing.key).",
    )
    audit_refusal_window_s: float = Field(
        60.0,
        gt=0,
        description="Requests a key's rate limit refuses are audited as one record per key "
        "per window of this many seconds, with their count.",
    )
    shutdown_drain_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a stopping service waits for audit records still being written "
        "(of streams whose client went away).",
    )
    audit_max_exports: int = Field(
        4,
        ge=1,
        description="Audit exports streamed at once; more get 503 with Retry-After (each "
        "page of an export holds a database connection only while it is read).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("RAGTRUST_CHUNK_OVERLAP must be smaller than RAGTRUST_CHUNK_SIZE")
        if bool(self.llm_base_url) != bool(self.llm_model):
            raise ValueError("set RAGTRUST_LLM_BASE_URL and RAGTRUST_LLM_MODEL together")
        if self.index_backend == "postgres" and not self.database_url.startswith("postgresql"):
            raise ValueError("RAGTRUST_INDEX_BACKEND=postgres needs a PostgreSQL "
                             "RAGTRUST_DATABASE_URL (postgresql+psycopg://...)")  # fmt: skip
        if len(set(self.llm_base_urls)) != len(self.llm_base_urls):
            raise ValueError("RAGTRUST_LLM_BASE_URL lists an endpoint twice")
        return self

    @property
    def embedder_path(self) -> Path:
        return self.models_dir / "all-minilm-l6-v2-int8.onnx"

    @property
    def indexes_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ragtrust.db'}"

    @property
    def work_slot_count(self) -> int:
        if self.work_slots:
            return self.work_slots
        if hasattr(os, "sched_getaffinity"):  # the CPUs this process may run on (containers)
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1

    @property
    def body_limits(self) -> dict[str, int]:
        """Body limits of the routes whose bodies differ from RAGTRUST_MAX_BODY_BYTES, by
        path prefix. Uploads may be large (multipart adds a little framing). ``/v1/score``
        holds at most its texts' limits, each character JSON-escaped (``\\uXXXX``, 6 bytes),
        so a longer body is refused on its declared length, before it is read."""
        score_chars = self.max_question_chars + self.max_scored_answer_chars
        score_chars += self.max_context_chars
        return {
            "/v1/documents": self.max_document_bytes + 64 * 1024,
            "/v1/score": min(self.max_body_bytes, 6 * score_chars + 64 * 1024),
        }

    @property
    def llm_base_urls(self) -> list[str]:
        return [u.strip().rstrip("/") for u in self.llm_base_url.split(",") if u.strip()]

    @property
    def embedded_llm(self) -> bool:
        return not self.llm_base_urls

    @property
    def embedded_model_name(self) -> str:
        return checkpoint_name(self.llm_precision)

    @property
    def embedded_model_dir(self) -> Path:
        return self.models_dir / self.embedded_model_name


@lru_cache
def get_settings() -> Settings:
    return Settings()
