"""The operator CLI (`kessai …`). Scriptable: `--json` prints machine-readable output, errors go to
stderr with what to do, and the exit code is non-zero on failure. Settings come from `KESSAI_`
variables (KESSAI_HOME, KESSAI_DATABASE_URL, …) and are loaded lazily so `--help` needs no database."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from kessai.config import Settings
from kessai.kit.errors import KessaiError

F = TypeVar("F", bound=Callable[..., Any])

DEMO_MERCHANT_ID = 30000


def _settings() -> Settings:
    """The settings of a command that works on an existing database: without one (a `kessai` run
    outside the checkout, a typo in KESSAI_HOME) it stops with one line, before any key is made."""
    settings = Settings()
    _require_database(settings)
    return settings


def _require_database(settings: Settings) -> None:
    from sqlalchemy.exc import DBAPIError

    from kessai.db.migrate import schema_status, sqlite_path

    url = settings.resolved_database_url()
    where = sqlite_path(url) or _redact(url)
    home = f"KESSAI_HOME (now {settings.home.resolve()})"
    try:
        status = schema_status(url)
    except DBAPIError as error:
        _fail(f"cannot reach the database at {where}: {str(error.orig).strip().splitlines()[0]}")
    match status:
        case "absent":
            _fail(f"no database at {where}; run `kessai migrate` or set {home}")
        case "empty":
            _fail(f"the database at {where} has no schema; run `kessai migrate` or set {home}")
        case "behind":
            _fail(f"the database at {where} needs upgrading; run `kessai migrate`")
        case "unknown":
            _fail(f"the database at {where} was migrated by a newer Kessai; upgrade this one")
        case "current":
            return


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _guard(func: F) -> F:
    """Turn expected errors into one readable line instead of a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KessaiError as error:
            _fail(error.message)
        except (RuntimeError, ValueError, OSError) as error:
            _fail(str(error))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


def _setup_logging(settings: Settings) -> None:
    from kessai.observability.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


@click.group()
@click.version_option(package_name="kessai")
def main() -> None:
    """Kessai (決済): a PAYGENT-compatible payment gateway.

    Configuration comes from KESSAI_* environment variables: KESSAI_HOME (where var/ lives,
    default: the current directory), KESSAI_DATABASE_URL (default: SQLite under var/),
    KESSAI_MASTER_KEY (card vault master key; default: a key file under var/keys/).
    """


@main.command()
@_guard
def migrate() -> None:
    """Create or upgrade the database schema (idempotent)."""
    from kessai.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url())
    click.echo(f"database at head: {_redact(settings.resolved_database_url())}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--cert",
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Server certificate "
    "(PEM). With it, TLS is on and merchants must present a client certificate.",
)
@click.option(
    "--key",
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Server private key.",
)
@click.option(
    "--client-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="CA(s) of client certificates; default: Kessai's merchant and console CAs in var/ca/.",
)
@click.option(
    "--tls",
    "auto_tls",
    is_flag=True,
    help="TLS with a server certificate issued by Kessai's own server CA (var/ca/).",
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Run the background jobs (expiries, reconciler) in this process.",
)
@click.option(
    "--simulators/--no-simulators",
    default=True,
    show_default=True,
    help="Mount the institution simulators under /sim/.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Server processes (PostgreSQL recommended above 1).",
)
@click.option("--demo", is_flag=True, help="Migrate and create a sandbox demo merchant first.")
@_guard
def serve(
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    client_ca: str | None,
    auto_tls: bool,
    worker: bool,
    simulators: bool,
    workers: int,
    demo: bool,
) -> None:
    """Run the gateway: the PAYGENT-compatible telegram face under /n/, the console under
    /console/."""
    from kessai.db.migrate import upgrade
    from kessai.tls.ca import client_ca_bundle, ensure_server_certificate
    from kessai.tls.server import build_uvicorn_config, run_server

    _check_port_free(host, port)
    settings = Settings()
    _setup_logging(settings)
    if demo:
        upgrade(settings.resolved_database_url())
        _print_demo_merchant(settings, host, port, tls=bool(cert or auto_tls))
    _require_database(settings)
    _check_ready(settings)
    if auto_tls and not cert:
        cert_path, key_path = ensure_server_certificate(settings.var_dir, [host])
        cert, key = str(cert_path), str(key_path)
    if cert and not client_ca:
        # Merchants' modules and console staff present certificates of different CAs on the
        # same port; the app tells them apart (merchant IDs vs console fingerprints).
        client_ca = str(client_ca_bundle(settings.var_dir))
    if workers > 1:
        _metrics_across_processes(settings)
    os.environ["KESSAI_SERVE_OPTIONS"] = json.dumps(
        {"require_client_cert": bool(cert), "run_worker": worker, "with_simulators": simulators}
    )
    app: Any = "kessai.cli.serving:app_from_environment"
    config = build_uvicorn_config(
        app,
        host=host,
        port=port,
        cert=cert,
        key=key,
        client_ca=client_ca,
        workers=workers,
        log_level=settings.log_level.lower(),
        factory=True,
        access_log=False,  # query strings may carry card numbers; the face logs safely
    )
    scheme = "https" if cert else "http"
    click.echo(f"Kessai listening on {scheme}://{host}:{port}/n/card/request", err=True)
    click.echo(f"Console: {scheme}://{host}:{port}/console/", err=True)
    run_server(config)


def _metrics_across_processes(settings: Settings) -> None:
    """Server processes write their metrics to one directory, emptied at each start, so that a
    scrape of any of them adds up all (kessai.observability.metrics)."""
    import shutil

    directory = settings.var_dir / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _check_port_free(host: str, port: int) -> None:
    """Say plainly that the port is taken, before anything is printed as listening."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            _fail(
                f"port {port} on {host} is already in use (another Kessai?); "
                f"choose another with --port {port + 1} (make run PORT={port + 1})"
            )


def _check_ready(settings: Settings) -> None:
    """Refuse to start on an unmigrated database or with a master key missing for stored cards."""
    from sqlalchemy.exc import DBAPIError

    from kessai.app import build_runtime
    from kessai.core.cards.keyring import check_stored_key_ids, load_keyring

    runtime = build_runtime(settings)
    try:
        with runtime.core.sessions() as session:
            check_stored_key_ids(session, load_keyring(settings))
    except DBAPIError as error:
        _fail(f"the database is not ready ({type(error.orig).__name__}); run: kessai migrate")
    finally:
        runtime.engine.dispose()


def _print_demo_merchant(settings: Settings, host: str, port: int, *, tls: bool) -> None:
    from kessai.cli.demo import ensure_demo_merchant

    creds = ensure_demo_merchant(settings, DEMO_MERCHANT_ID)
    scheme = "https" if tls else "http"
    click.echo("Sandbox demo merchant (credentials also in var/demo-merchant.json):")
    for name in (
        "merchant_id",
        "connect_id",
        "connect_password",
        "hash_key",
        "notification_hash_key",
        "threeds_hash_key",
    ):
        click.echo(f"  {name:22} {creds[name]}")
    click.echo(
        f"Try: curl -s {scheme}://{host}:{port}/n/card/request --data "
        f"'merchant_id={creds['merchant_id']}&connect_id={creds['connect_id']}&"
        f"connect_password={creds['connect_password']}&telegram_kind=020&"
        "telegram_version=1.0&trading_id=demo1&payment_amount=1000&"
        "card_number=4900000000000000&card_valid_term=1230'"
    )
    click.echo(f"Or pay on the hosted page: {_demo_link(f'{scheme}://{host}:{port}', creds)}")


def _demo_link(base_url: str, creds: dict[str, Any]) -> str:
    """A signed link request for a 1,980-yen demo order (a new trading_id each start)."""
    from urllib.parse import urlencode

    from kessai.core.link.hashing import link_hash

    fields = {
        "trading_id": f"demo{int(time.time())}",
        "id": "1980",
        "seq_merchant_id": str(creds["merchant_id"]),
    }
    fields["hc"] = link_hash(fields, creds["hash_key"])
    fields["merchant_name"] = "デモ商店"
    return f"{base_url}/v/u/request?{urlencode(fields)}"


@main.command()
@click.option("--interval", default=30.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@_guard
def worker(interval: float, once: bool) -> None:
    """Run the background jobs alone (expiries, reconciler)."""
    from kessai.app import build_runtime
    from kessai.worker.scheduler import Scheduler, run_jobs_once

    settings = _settings()
    _setup_logging(settings)
    runtime = build_runtime(settings)
    if once:
        click.echo(json.dumps(run_jobs_once(runtime.core, settings)))
        return
    scheduler = Scheduler(runtime.core, settings, interval=interval)
    scheduler.start()
    click.echo("worker running; Ctrl-C to stop", err=True)
    try:
        scheduler._thread.join()
    except KeyboardInterrupt:
        scheduler.stop()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _register() -> None:
    from kessai.cli import console, keys, merchants, notices, sandbox, vaccount

    main.add_command(merchants.merchant)
    main.add_command(keys.keys)
    main.add_command(notices.notices)
    main.add_command(sandbox.sandbox)
    main.add_command(vaccount.va)
    main.add_command(console.user)
    main.add_command(console.console)


_register()

if __name__ == "__main__":
    main()
