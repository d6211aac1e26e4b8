"""The ``postal`` command: ``postal --help`` lists everything."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys

import click
from sqlalchemy import func, select

from . import __version__
from .bootstrap import build_registry, config_path, fail, read_settings


config_option = click.option(
    "-c",
    "--config",
    "config_file",
    default=None,
    metavar="INI",
    help="Configuration file (default: $POSTAL_CONFIG, else development.ini).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="postal")
@config_option
def cli(config_file: str | None) -> None:
    """A self-hosted mail delivery platform, compatible with Postal.

    Every command reads its configuration from -c/--config (before or after the command
    name), else $POSTAL_CONFIG, else development.ini.
    """
    if config_file:
        # Commands (and processes they start) all look here when given no -c of their own.
        os.environ["POSTAL_CONFIG"] = config_file


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


@cli.command()
@config_option
def initialize(config_file: str | None) -> None:
    """Create or upgrade the database schema, and the signing key; safe to run again."""
    from .dkim_keys import load_or_create_signing_key
    from .migrations import current_revision, upgrade

    registry = build_registry(config_path(config_file), "cli")
    settings = registry.settings
    engine = registry["dbengine"]
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    load_or_create_signing_key(
        settings["postal.signing_key_path"], settings["postal.dkim_key_size"]
    )
    if before == after:
        click.echo(f"Database is up to date (revision {after}).")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")
    click.echo(f"Signing key: {settings['postal.signing_key_path']}")


@cli.command("make-user")
@config_option
@click.option("--email", "email", help="E-mail address (the login).")
@click.option("--first-name", help="First name.")
@click.option("--last-name", help="Last name.")
@click.option("--password", help="Password (8 characters or more); prompted when absent.")
@click.option("--admin/--no-admin", default=False, help="Make an installation admin.")
def make_user(config_file, email, first_name, last_name, password, admin) -> None:
    """Create a user; prompts for what is missing when run in a terminal."""
    from .accounts import UserError, create_user
    from .unit_of_work import unit_of_work

    interactive = sys.stdin.isatty()
    values = {"email": email, "first_name": first_name, "last_name": last_name}
    labels = {"email": "E-mail address", "first_name": "First name", "last_name": "Last name"}
    for key, value in values.items():
        if not value:
            if not interactive:
                fail(f"--{key.replace('_', '-')} is required")
            values[key] = click.prompt(labels[key])
    if not password:
        if not interactive:
            fail("--password is required")
        password = getpass.getpass("Password: ")
    registry = build_registry(config_path(config_file), "cli")
    try:
        with unit_of_work(registry) as request:
            user = create_user(request.dbsession, password=password, admin=admin, **values)
            email = user.email_address
    except UserError as exc:
        fail(str(exc))
    click.echo(f"Created {'admin ' if admin else ''}user {email}")


@cli.command("ensure-admin")
@config_option
def ensure_admin(config_file) -> None:
    """Create a first admin with a generated password when the installation has no user."""
    from .accounts import create_user
    from .models import User
    from .unit_of_work import unit_of_work

    registry = build_registry(config_path(config_file), "cli")
    with unit_of_work(registry) as request:
        if request.dbsession.scalar(select(func.count()).select_from(User)):
            click.echo("An admin user already exists; nothing to do.")
            return
        password = secrets.token_urlsafe(12)
        create_user(
            request.dbsession,
            email="admin@example.com",
            first_name="Admin",
            last_name="User",
            password=password,
            admin=True,
        )
    click.echo("Created the first admin user. Sign in with:")
    click.echo("  e-mail:   admin@example.com")
    click.echo(f"  password: {password}")
    click.echo("This password is shown once; change it after signing in.")


@cli.command("create-api-token")
@config_option
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="CLI token", show_default=True, help="A label for the token.")
def create_api_token(config_file, email, name) -> None:
    """Print a new management API token for a user (the token alone on the last line)."""
    from .accounts import UserError, issue_api_token
    from .unit_of_work import unit_of_work

    registry = build_registry(config_path(config_file), "cli")
    try:
        with unit_of_work(registry) as request:
            _record, token = issue_api_token(request.dbsession, email=email, name=name)
    except UserError as exc:
        fail(str(exc))
    click.echo(
        f"Created API token {name!r} for {email}. Use it as 'Authorization: Bearer <token>':"
    )
    click.echo(token)


@cli.command("default-dkim-record")
@config_option
def default_dkim_record(config_file) -> None:
    """Print the installation's DKIM TXT record (for <dkim_identifier>._domainkey.<rp>)."""
    from .dkim_keys import dkim_record, load_or_create_signing_key

    settings = read_settings(config_path(config_file))
    pem = load_or_create_signing_key(
        settings["postal.signing_key_path"], settings["postal.dkim_key_size"]
    )
    click.echo(dkim_record(pem))


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(config_file, as_json) -> None:
    """List the plugins loaded and the hooks each implements."""
    from .plugins import describe_plugins

    registry = build_registry(config_path(config_file), "cli")
    rows = describe_plugins(registry["postal.plugin_manager"])
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        source = row["distribution"] or row["module"]
        click.echo(f"{row['name']:<20} {source}")
        click.echo(f"{'':<20} hooks: {', '.join(row['hooks']) or '-'}")


@cli.command("web-server")
@config_option
def web_server(config_file) -> None:
    """Run the web server (UI, API v1 and v2)."""
    from .servers import run_processes, web_process

    path = config_path(config_file)
    run_processes([web_process(path)])


@cli.command("smtp-server")
@config_option
def smtp_server(config_file) -> None:
    """Run the SMTP server (and its health server)."""
    from .servers import run_processes, smtp_process

    run_processes([smtp_process(config_path(config_file))])


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Process what is due, then exit.")
def worker(config_file, once) -> None:
    """Run the worker: deliver queued messages, run plugins' queues (webhooks)."""
    from .servers import run_processes, worker_process

    path = config_path(config_file)
    if once:
        from .worker.runner import Worker

        done = Worker(build_registry(path, "worker")).run_until_idle()
        click.echo(f"Processed {done} queued items.")
        return
    run_processes([worker_process(path)])


@cli.command()
@config_option
def run(config_file) -> None:
    """Run every process (web, and SMTP and worker where available) in one process."""
    from .servers import all_processes, run_processes

    run_processes(all_processes(config_path(config_file)))


def main(argv: list[str] | None = None) -> None:
    from sqlalchemy.exc import OperationalError

    try:
        cli.main(args=argv, prog_name="postal")
    except OperationalError as exc:
        # The usual first-run problem: say which database and why, without a traceback.
        fail(f"cannot use the database: {str(exc.orig).splitlines()[0]}")
