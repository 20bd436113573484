"""The operator CLI (`kessai …`). Scriptable: `--json` prints machine-readable output, errors go to
stderr with what to do, and the exit code is non-zero on failure. Settings come from `KESSAI_`
variables (KESSAI_HOME, KESSAI_DATABASE_URL, …) and are loaded lazily so `--help` needs no database."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import click

from kessai.cli.common import fail, guard, load_settings, redact, require_database
from kessai.config import Settings

DEMO_MERCHANT_ID = 30000


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
@guard
def migrate() -> None:
    """Create or upgrade the database schema (idempotent)."""
    from kessai.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url())
    click.echo(f"database at head: {redact(settings.resolved_database_url())}")


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
    default=None,
    help="Serve the institution simulators under /sim/ on their own listener, on 127.0.0.1 "
    "only (default: with --demo).",
)
@click.option(
    "--simulators-port",
    type=int,
    help="Port of the simulators' listener  [default: --port + 1]",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Server processes (PostgreSQL recommended above 1).",
)
@click.option("--demo", is_flag=True, help="Migrate and create a sandbox demo merchant first.")
@guard
def serve(
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    client_ca: str | None,
    auto_tls: bool,
    worker: bool,
    simulators: bool | None,
    simulators_port: int | None,
    workers: int,
    demo: bool,
) -> None:
    """Run the gateway: the PAYGENT-compatible telegram face under /n/, the console under
    /console/."""
    from kessai.db.migrate import upgrade
    from kessai.tls.ca import client_ca_bundle, ensure_server_certificate
    from kessai.tls.limits import ConnectionLimits
    from kessai.tls.server import build_uvicorn_config, run_server

    _check_port_free(host, port)
    settings = Settings()
    _setup_logging(settings)
    if demo:
        upgrade(settings.resolved_database_url())
        _print_demo_merchant(settings, host, port, tls=bool(cert or auto_tls))
    require_database(settings)
    _check_ready(settings)
    _say_unconnected(settings)
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
        {"require_client_cert": bool(cert), "run_worker": worker}
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
        limits=ConnectionLimits(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            per_client=settings.connections_per_client,
        ),
    )
    scheme = "https" if cert else "http"
    click.echo(f"Kessai listening on {scheme}://{host}:{port}/n/card/request", err=True)
    click.echo(f"Console: {scheme}://{host}:{port}/console/", err=True)
    if simulators is None:
        simulators = demo  # the one-command demo has them; a production start must ask
    if simulators:
        _serve_simulators(settings, simulators_port or port + 1)
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
            fail(
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
        fail(f"the database is not ready ({type(error.orig).__name__}); run: kessai migrate")
    finally:
        runtime.engine.dispose()


def _serve_simulators(settings: Settings, port: int) -> None:
    """The simulators on 127.0.0.1:`port`, beside the gateway: their control API has no
    authentication, so never on the gateway's listener nor on another address."""
    from kessai.app import create_simulators_app
    from kessai.kit.clock import SystemClock
    from kessai.tls.server import build_uvicorn_config, start_beside

    config = build_uvicorn_config(
        create_simulators_app(SystemClock()),
        host="127.0.0.1",
        port=port,
        log_level=settings.log_level.lower(),
    )
    start_beside(config)
    click.echo(f"Simulators (this machine only): http://127.0.0.1:{port}/sim/acquirer", err=True)


def _say_unconnected(settings: Settings) -> None:
    """Name the institutions production merchants cannot reach: their methods answer P007."""
    from kessai.app import NOT_CONNECTED, unconnected_institutions

    logging.getLogger("kessai.serve").warning(
        "no real connector, so production merchants get %s (sandbox merchants use the "
        "simulators) for: %s",
        NOT_CONNECTED,
        "; ".join(unconnected_institutions(settings)),
    )


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

    from kessai.core.link.hashing import sign

    fields = {
        "trading_id": f"demo{int(time.time())}",
        "id": "1980",
        "seq_merchant_id": str(creds["merchant_id"]),
    }
    # A credentials file written before link_signature existed belongs to a paygent merchant.
    fields["hc"] = sign(fields, creds["hash_key"], creds.get("link_signature", "paygent"))
    fields["merchant_name"] = "デモ商店"
    return f"{base_url}/v/u/request?{urlencode(fields)}"


@main.command()
@click.option("--interval", default=30.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@guard
def worker(interval: float, once: bool) -> None:
    """Run the background jobs alone (expiries, reconciler)."""
    from kessai.app import build_runtime
    from kessai.worker.scheduler import Scheduler, run_jobs_once

    settings = load_settings()
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


def _register() -> None:
    from kessai.cli import (
        cards,
        console,
        fees,
        files,
        keys,
        ledger,
        merchants,
        notices,
        payouts,
        reconcile,
        sandbox,
        settle,
        vaccount,
    )

    main.add_command(merchants.merchant)
    main.add_command(keys.keys)
    main.add_command(cards.cards)
    main.add_command(notices.notices)
    main.add_command(sandbox.sandbox)
    main.add_command(vaccount.va)
    main.add_command(console.user)
    main.add_command(console.console)
    main.add_command(payouts.payouts)
    main.add_command(fees.fees)
    main.add_command(settle.settle)
    main.add_command(ledger.ledger)
    main.add_command(reconcile.reconcile)
    main.add_command(files.files)


_register()

if __name__ == "__main__":
    main()
