"""``ragtrust tenants ...`` and ``ragtrust keys ...``: who exists, what they set, who may call."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer
from rich.table import Table

from rag.cli.console import console, fail, out
from rag.core.errors import RagtrustError
from rag.core.settings import get_settings
from rag.core.types import RetrievalMode
from rag.keys import Role
from trust.presets import PresetName

tenants_app = typer.Typer(help="Tenants and their settings.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once; only a hash is stored).", no_args_is_help=True)


@tenants_app.command("create")
def tenants_create(
    name: str, exist_ok: Annotated[bool, typer.Option("--exist-ok")] = False
) -> None:
    """Create a tenant."""
    from rag.runtime import build_tenants

    try:
        created = build_tenants(get_settings()).create(name, exist_ok=exist_ok)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    console.print(f"tenant {name} {'created' if created else 'already exists'}")


@tenants_app.command("list")
def tenants_list() -> None:
    from rag.runtime import build_tenants

    for name in build_tenants(get_settings()).names():
        out.print(name)


@tenants_app.command("set")
def tenants_set(
    name: str,
    trust_preset: Annotated[PresetName | None, typer.Option(help="Default trust preset.")] = None,
    trust_threshold: Annotated[
        float | None, typer.Option(help="Answers scored below are flagged.")
    ] = None,
    retrieval_mode: Annotated[
        RetrievalMode | None, typer.Option(help="Default retrieval mode.")
    ] = None,
    top_k: Annotated[int | None, typer.Option(help="Chunks given to the model.")] = None,
    answer_mode: Annotated[
        Literal["extractive", "generative", "auto"] | None,
        typer.Option(help="Quote the sources (extractive) or let the LLM write (generative)."),
    ] = None,
    max_documents: Annotated[int | None, typer.Option(help="Documents quota.")] = None,
    max_chunks: Annotated[int | None, typer.Option(help="Chunks quota.")] = None,
    max_bytes: Annotated[int | None, typer.Option(help="Bytes quota.")] = None,
    reset: Annotated[
        list[str] | None, typer.Option(help="Setting to reset to the service default.")
    ] = None,
) -> None:
    """Change a tenant's settings (its privacy policy: `ragtrust privacy policy set`)."""
    from rag.runtime import build_tenants

    changes: dict[str, object] = {
        k: v
        for k, v in {
            "trust_preset": trust_preset,
            "trust_threshold": trust_threshold,
            "retrieval_mode": retrieval_mode,
            "top_k": top_k,
            "answer_mode": answer_mode,
            "max_documents": max_documents,
            "max_chunks": max_chunks,
            "max_bytes": max_bytes,
        }.items()
        if v is not None
    }
    changes.update(dict.fromkeys(reset or []))
    try:
        merged = build_tenants(get_settings()).update_settings(name, **changes)
    except (RagtrustError, ValueError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    out.print_json(merged.model_dump_json(exclude_none=True))


@tenants_app.command("show")
def tenants_show(name: str) -> None:
    """A tenant's settings and privacy overrides (absent: the service defaults apply)."""
    from rag.runtime import build_tenants

    registry = build_tenants(get_settings())
    try:
        registry.require(name)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    shown = {
        "name": name,
        "settings": registry.settings(name).model_dump(exclude_none=True),
        "privacy": registry.privacy_overrides(name),
    }
    out.print_json(json.dumps(shown))


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key acts for.")],
    role: Annotated[Role, typer.Option(help="user: ask; admin: also documents; auditor: audit.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the key only.")] = False,
) -> None:
    """Create an API key. It is printed once and cannot be shown again."""
    from rag.runtime import build_keys

    try:
        issued = build_keys(get_settings()).create(tenant, role, name)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    if not quiet:
        console.print(
            f"key {issued.info.id} for tenant {tenant}, role {role}; "
            "store it now, it is not shown again:"
        )
    out.print(issued.secret, soft_wrap=True)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (the part after `rt_`); it stops working at once."""
    from rag.runtime import build_keys

    try:
        info = build_keys(get_settings()).revoke(key_id)
    except RagtrustError as exc:
        raise fail(exc.message) from None
    console.print(f"key {info.id} of tenant {info.tenant} revoked")


@keys_app.command("list")
def keys_list(tenant: Annotated[str | None, typer.Option()] = None) -> None:
    """Keys and their state (never the secrets, which are not stored)."""
    from rag.runtime import build_keys

    table = Table("id", "tenant", "role", "name", "created", "revoked")
    for k in build_keys(get_settings()).list(tenant):
        revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
        table.add_row(k.id, k.tenant, k.role, k.name, f"{k.created_at:%Y-%m-%d %H:%M}", revoked)
    out.print(table)
