"""``ragtrust privacy ...``: what would leave the boundary, and tenants' privacy policies."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from rag.cli.console import console, out

privacy_app = typer.Typer(help="PII protection (Presidio).", no_args_is_help=True)
policy_app = typer.Typer(help="A tenant's privacy policy.", no_args_is_help=True)
privacy_app.add_typer(policy_app, name="policy")


@privacy_app.command("redact")
def redact(
    text: str,
    tenant: Annotated[str | None, typer.Option(help="Apply this tenant's policy.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Text, entities and counts.")] = False,
) -> None:
    """Show TEXT as the LLM would receive it: PII replaced by typed placeholders."""
    from privacy.analyzer import PiiAnalyzer
    from privacy.policy import PiiBlockedError, PrivacyGuard, PrivacyPolicy
    from rag.core.settings import get_settings

    settings = get_settings()
    overrides = None
    if tenant:
        from rag.runtime import build_tenants

        overrides = build_tenants(settings).privacy_overrides(tenant)
    policy = PrivacyPolicy.for_tenant(settings, overrides)
    with console.status("loading the PII analyzer ..."):
        guard = PrivacyGuard(PiiAnalyzer())
    try:
        safe = guard.protect(text, [], policy)
    except PiiBlockedError as exc:
        console.print(f"[red]blocked:[/red] the text contains {', '.join(exc.types)}")
        raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps({"text": safe.question, "entities": safe.entities}))
    else:
        typer.echo(safe.question)
        console.print(f"protected: {safe.entities or 'nothing found'}")


@policy_app.command("show")
def policy_show(tenant: str) -> None:
    """Print a tenant's overrides (null: the RAGTRUST_PRIVACY_* defaults apply)."""
    from rag.core.settings import get_settings
    from rag.runtime import build_tenants

    out.print_json(json.dumps(build_tenants(get_settings()).privacy_overrides(tenant)))


@policy_app.command("set")
def policy_set(
    tenant: str,
    policy: Annotated[
        str,
        typer.Argument(
            help='JSON, e.g. \'{"actions": {"US_SSN": "block"}, "thresholds": {"PERSON": 0.6}}\'; '
            "'null' restores the defaults."
        ),
    ],
) -> None:
    """Set a tenant's entity types, thresholds and per-type actions."""
    from privacy.policy import PolicyOverrides
    from rag.core.errors import RagtrustError
    from rag.core.settings import get_settings
    from rag.runtime import build_tenants

    try:
        raw = json.loads(policy)
        parsed = None if raw is None else PolicyOverrides.model_validate(raw)
        build_tenants(get_settings()).set_privacy_overrides(
            tenant, None if parsed is None else parsed.model_dump(exclude_defaults=True)
        )
    except (json.JSONDecodeError, ValidationError) as exc:
        console.print(f"[red]error:[/red] invalid policy: {exc}")
        raise typer.Exit(1) from None
    except RagtrustError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"privacy policy of {tenant} {'reset' if parsed is None else 'saved'}")
