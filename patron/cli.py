"""The `patron` console script: Typer commands over Django management commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="Patron: a self-hosted CRM built on customer psychology.",
    no_args_is_help=True,
    add_completion=False,
)
source_app = typer.Typer(help="Ingestion sources and their write keys.", no_args_is_help=True)
apikey_app = typer.Typer(help="REST API keys.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(apikey_app, name="apikey")
insights_app = typer.Typer(help="Customer insights: scores and predictions.", no_args_is_help=True)
app.add_typer(insights_app, name="insights")


def _django() -> None:
    from patron.config.env import settings_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
    import django

    django.setup()


def _call(command: str, *args: str) -> None:
    _django()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        call_command(command, *args)
    except CommandError as error:
        typer.secho(f"Error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from error


@app.command()
def migrate() -> None:
    """Create or update the database tables."""
    _call("migrate", "--no-input", "--verbosity", "1")


@app.command()
def createadmin(
    username: str = typer.Option("admin", help="Login name of the admin."),
    email: str = typer.Option("admin@example.com", help="The admin's email address."),
    reset_password: bool = typer.Option(False, "--reset-password", help="Print a new password."),
) -> None:
    """Create the first admin with a generated password (printed once); safe to run again."""
    _call(
        "createadmin",
        "--username",
        username,
        "--email",
        email,
        *(["--reset-password"] if reset_password else []),
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(2, help="gunicorn worker processes."),
) -> None:
    """Serve the workspace, the REST API and /v1 ingestion with gunicorn."""
    _django()
    from django.core.management import call_command

    call_command("collectstatic", "--no-input", verbosity=0)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    arguments = [
        str(gunicorn),
        "patron.config.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        # The application is loaded once, before the workers fork: they start at once (a
        # replaced worker too) and share its memory, which patron/config/wsgi.py keeps
        # unwritten by freezing it from the garbage collector.
        "--preload",
        "--access-logfile",
        "-",
        # Segment clients send the write key as the Basic user name; the default logger prints it.
        "--logger-class",
        "patron.config.gunicorn.RedactingLogger",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]
    os.execv(arguments[0], arguments)  # noqa: S606 - replaces this process with gunicorn, no shell


@app.command()
def worker() -> None:
    """Run the background worker (Huey consumer): SQLite queue, or Redis with PATRON_REDIS_URL."""
    _call("run_huey")


@app.command("demo-data")
def demo_data(
    customers: int = typer.Option(2000, help="How many customers to create."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same shop."),
) -> None:
    """Load a believable skincare and wellness shop (products, customers, orders, events)."""
    _call("demo_data", "--customers", str(customers), "--seed", str(seed))


@app.command("import")
def import_csv(
    kind: str = typer.Argument(..., help="customers, products or orders"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report every bad row; change nothing."),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="Import the good rows; write the rejected ones beside FILE."
    ),
    source: str = typer.Option("import", help="Source the orders belong to (orders only)."),
    format: str = typer.Option("auto", help="auto, generic or shopify."),
) -> None:
    """Import a CSV of customers, products or orders: all-or-nothing unless --skip-bad-rows."""
    arguments = [kind, str(file), "--source", source, "--format", format]
    if dry_run:
        arguments.append("--dry-run")
    if skip_bad_rows:
        arguments.append("--skip-bad-rows")
    _call("import_csv", *arguments)


@source_app.command("create")
def source_create(
    name: str = typer.Argument(..., help="A name such as 'Web shop'."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a source and print its write key (shown once)."""
    _call("source_create", name, *(["--json"] if json else []))


@apikey_app.command("create")
def apikey_create(
    scope: list[str] = typer.Option(..., "--scope", help="Repeat for several scopes."),
    name: str = typer.Option("CLI key", help="A name to recognise the key by."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a REST API key and print its secret (shown once)."""
    arguments = ["--name", name]
    for item in scope:
        arguments += ["--scope", item]
    _call("apikey_create", *arguments, *(["--json"] if json else []))


@app.command()
def stats(json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts of customers, identities, events, orders, lines, products and warnings."""
    _call("stats", *(["--json"] if json else []))


@insights_app.command("refresh")
def insights_refresh(
    as_of: str = typer.Option(
        None,
        "--as-of",
        help="Compute as if today were this date (YYYY-MM-DD), ignoring later data.",
    ),
    horizon_days: int = typer.Option(None, "--horizon-days", help="Prediction horizon in days."),
) -> None:
    """Recompute every customer's insights (the worker also does it nightly)."""
    arguments = []
    if as_of:
        arguments += ["--as-of", as_of]
    if horizon_days is not None:
        arguments += ["--horizon-days", str(horizon_days)]
    _call("insights_refresh", *arguments)


@insights_app.command("export")
def insights_export(
    format: str = typer.Option("csv", "--format", help="csv or parquet."),
    output: Path = typer.Option(None, "--output", help="File to write; standard output if none."),
) -> None:
    """One row per customer: ids, RFM, predictions, churn, next order, engagement, stage."""
    arguments = ["--format", format]
    if output is not None:
        arguments += ["--output", str(output)]
    _call("insights_export", *arguments)


if __name__ == "__main__":
    app()
