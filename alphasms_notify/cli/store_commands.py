"""``alphasms store``: the schema's migrations and what the store holds, for SQLite and PostgreSQL alike.

Every front end migrates the store when it opens it, so ``migrate`` is for
deployments that change the schema in a step of their own (before starting
new bot instances beside old ones); ``status`` says where a store stands
without changing it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from .contacts import open_store
from .output import Context, echo_results

__all__ = ["store"]


def _open(ctx: Context) -> tuple[Any, str]:
    """The store as it is (not migrated), and where it is, its password masked."""
    from ..redact import safe_url

    opened = open_store(ctx, migrate=False)
    return opened, safe_url(opened.target)


@click.group()
def store() -> None:
    """The store: schema migrations and status ([store] path for SQLite, [store] url for PostgreSQL)."""


@store.command()
@click.pass_obj
def migrate(ctx: Context) -> None:
    """Apply the migrations the store lacks (each in its own transaction)."""
    opened, shown = _open(ctx)
    try:
        applied = opened.migrate()
        version = opened.schema_version()
    finally:
        opened.close()
    if ctx.json:
        echo_results([{"store": shown, "applied": applied, "version": version}])
    elif applied:
        click.echo(f"{shown}: applied migration(s) {', '.join(map(str, applied))}; now at version {version}")
    else:
        click.echo(f"{shown}: up to date at version {version}")


@store.command()
@click.pass_obj
def status(ctx: Context) -> None:
    """The engine, the schema version, each migration, and what the store holds."""
    from ..migrations import LATEST

    opened, shown = _open(ctx)
    try:
        version = opened.schema_version()
        steps = opened.migrations()
        counts = opened.counts() if version == LATEST else {}
        engine = opened.engine
    finally:
        opened.close()
    if ctx.json:
        echo_results([{"store": shown, "engine": engine, "version": version, "latest": LATEST,
                       "migrations": [{"version": v, "name": n, "applied_at": a} for v, n, a in steps],
                       "counts": counts}])
        return
    click.echo(f"{shown} ({engine}): schema version {version} of {LATEST}")
    for v, name, applied in steps:
        when = datetime.fromtimestamp(applied, UTC).strftime("%Y-%m-%d %H:%M UTC") if applied else "pending"
        click.echo(f"  {v}. {name}: {when}")
    if version < LATEST:
        click.echo("run `alphasms store migrate` (the bot also migrates when it starts)")
    for name, n in counts.items():
        click.echo(f"{name}: {n}")
