"""The composition root: the only module that imports every layer. `create_app(settings)` builds the
core once and mounts the faces over it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar, cast

from anyio import to_thread
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kessai.config import Settings
from kessai.connectors.base import CardAcquirer
from kessai.connectors.sandbox.banknet import SandboxBankNet
from kessai.connectors.sandbox.carrier import SandboxCarrier
from kessai.connectors.sandbox.connector import SandboxAcquirer
from kessai.connectors.sandbox.cvs import SandboxCvs
from kessai.connectors.sandbox.payeasy import SandboxPayEasy
from kessai.connectors.sandbox.slip import SandboxSlipAgency
from kessai.connectors.sandbox.threeds import SandboxThreeDSServer
from kessai.connectors.sandbox.updater import SandboxAccountUpdater
from kessai.connectors.sandbox.vaccount import SandboxVirtualAccountBank
from kessai.core.cards.keyring import load_keyring
from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import SealedCard, Vault, reseal_card, store_card
from kessai.core.console.users import LockoutPolicy
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.auth import Authenticator
from kessai.db import (
    loop,
    models,  # noqa: F401  every table in the metadata: ORM bulk writes resolve all FKs
)
from kessai.db.migrate import schema_status
from kessai.db.session import make_engine, make_sessionmaker
from kessai.kit.clock import Clock, SystemClock
from kessai.kit.errors import InvalidRequest
from kessai.kit.keyfile import load_or_create_key
from kessai.kit.secrets import CardNumber
from kessai.observability.metrics import BacklogCollector, Metrics, instrumented
from kessai.observability.middleware import ObservedApp
from kessai.web.buyer.banknet import ASP_PATH, BANK_PATH, BankNetPages
from kessai.web.buyer.carrier import CarrierPages
from kessai.web.buyer.receipt import ReceiptPage
from kessai.web.buyer.slip import SlipPage
from kessai.web.buyer.threeds import ROUTE as ACS_ROUTE
from kessai.web.buyer.threeds import AcsPages
from kessai.web.console.config import ConsoleConfig
from kessai.web.console.face import ConsoleFace
from kessai.web.disconnect import LogClientDisconnect
from kessai.web.link.face import LinkPagesFace
from kessai.web.link.request import REQUEST_PATHS, LinkRequestFace
from kessai.web.module.endpoint import TELEGRAM_PREFIXES, LoopCore, TelegramFace
from kessai.web.module.files import ModuleFileLines
from kessai.web.sandbox.api import SandboxApi
from kessai.worker.scheduler import Scheduler


@dataclass
class VaultService:
    """The vault as the core sees it: seal into a session, open, fingerprint."""

    vault: Vault
    clock: Clock

    def store(self, session: Session, number: CardNumber) -> VaultCard:
        row = store_card(session, self.vault, number, self.clock.now())
        session.flush()  # the payment refers to the row by its id
        return row

    def seal(self, number: CardNumber) -> SealedCard:
        return self.vault.seal(number)

    def open(self, row: VaultCard | SealedCard) -> CardNumber:
        return self.vault.open(row)

    def reseal(self, row: VaultCard, number: CardNumber) -> None:
        reseal_card(row, self.vault, number)


# A production merchant is never served by a simulated institution: a method whose institution
# has no real connector answers P007 (この決済手段は契約されていません) before anything is written, as
# PAYGENT answers a method the merchant has no contract for. 3-D Secure keeps PAYGENT's own code for
# it, P063. Sandbox merchants keep the simulators.
NOT_CONNECTED = "P007"
THREEDS_NOT_CONNECTED = "P063"

# The institutions this distribution only simulates (a real one is one more connector, issue #3),
# as the start-up log names them.
SIMULATED_ONLY = (
    "ATM / Pay-easy agency (010)",
    "CVS chains (030)",
    "CVS payment slip agency (040)",
    "bank net banks (050/060)",
    "virtual account bank (070)",
    "carriers (100-105)",
    "3-D Secure server (450, P063)",
    "card account updater (洗替)",
)


@dataclass
class AcquirerRouter:
    """Sandbox merchants get PAYGENT's stub rules in-process; production merchants the configured
    acquirer (KESSAI_ACQUIRER_URL), or P007 without one: a stub never approves a real card."""

    sandbox: CardAcquirer
    production: CardAcquirer | None

    def __call__(self, merchant: MerchantRef) -> CardAcquirer:
        if merchant.mode == "sandbox":
            return self.sandbox
        if self.production is None:
            raise InvalidRequest(NOT_CONNECTED)
        return self.production


def unconnected_institutions(settings: Settings) -> list[str]:
    """What production merchants cannot use in this configuration (said at start-up)."""
    card = [] if settings.acquirer_url else ["card acquirer (020-029; KESSAI_ACQUIRER_URL unset)"]
    return card + list(SIMULATED_ONLY)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    core: Core
    extras: dict[str, object] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Everything the faces and the worker share, built once."""
    clock = clock or SystemClock()
    engine = make_engine(settings.resolved_database_url())
    secret = (
        settings.secret_key.get_secret_value().encode()
        if settings.secret_key
        else load_or_create_key(settings.var_dir / "keys" / "secret.key")
    )
    vault = VaultService(Vault(load_keyring(settings)), clock)
    metrics = Metrics()

    def timed(connector: T, institution: str) -> T:
        return cast(T, instrumented(connector, institution, metrics))

    production = _production_acquirer(settings)
    core = Core(
        sessions=make_sessionmaker(engine),
        clock=clock,
        vault=vault,
        acquirer_for=AcquirerRouter(
            timed(SandboxAcquirer(clock), "sandbox_acquirer"),
            timed(production, "acquirer") if production is not None else None,
        ),
        secret=secret,
        payeasy_for=_sandbox_only(timed(SandboxPayEasy(), "payeasy"), NOT_CONNECTED),
        cvs_for=_sandbox_only(timed(SandboxCvs(), "cvs"), NOT_CONNECTED),
        banknet_for=_sandbox_only(timed(SandboxBankNet(), "banknet"), NOT_CONNECTED),
        virtual_bank_for=_sandbox_only(
            timed(SandboxVirtualAccountBank(), "virtual_account_bank"), NOT_CONNECTED
        ),
        carrier_for=_sandbox_only(timed(SandboxCarrier(), "carrier"), NOT_CONNECTED),
        slip_for=_sandbox_only(timed(SandboxSlipAgency(), "slip_agency"), NOT_CONNECTED),
        # A simulated ACS would let anyone "authenticate" a stolen card, as a simulated till would
        # let a buyer walk away with goods unpaid: production merchants get neither.
        threeds_for=_sandbox_only(
            timed(SandboxThreeDSServer(), "threeds_server"), THREEDS_NOT_CONNECTED
        ),
        # A simulated updater would invent new numbers for real cards: sandbox merchants only.
        updater_for=_sandbox_only(timed(SandboxAccountUpdater(), "card_updater"), NOT_CONNECTED),
        # A file's lines are checked and run by their telegrams' own codec and handlers.
        file_lines=ModuleFileLines(),
    )
    metrics.watch(BacklogCollector(core))
    return Runtime(settings=settings, engine=engine, core=core, metrics=metrics)


T = TypeVar("T")


def _sandbox_only(institution: T, code: str) -> Callable[[MerchantRef], T]:
    """`institution` for sandbox merchants; `code` for production ones (a simulator only)."""

    def pick(merchant: MerchantRef) -> T:
        if merchant.mode != "sandbox":
            raise InvalidRequest(code)
        return institution

    return pick


def _production_acquirer(settings: Settings) -> CardAcquirer | None:
    if not settings.acquirer_url:
        return None
    from kessai.connectors.acquirer_sim.client import SimAcquirer

    # Over the network: off the event loop when a telegram runs there (kessai.db.loop).
    return cast(
        CardAcquirer,
        loop.OffLoop(SimAcquirer(settings.acquirer_url, timeout=settings.acquirer_timeout)),
    )


def create_app(
    runtime: Runtime,
    *,
    require_client_cert: bool = False,
    run_worker: bool = False,
) -> Starlette:
    """The gateway's faces over `runtime`. With `require_client_cert` (TLS), merchants' telegrams
    and sandbox API calls need their own client certificate. The simulators are never mounted
    here: they are other companies, served on their own listener (`create_simulators_app`)."""
    core = runtime.core
    authenticator = Authenticator(core.sessions, core.secret)
    on_loop = LoopCore()
    telegrams = TelegramFace(
        core,
        authenticator,
        require_client_cert=require_client_cert,
        public_url=runtime.settings.public_url,
        trusted_proxies=ConsoleConfig.networks(runtime.settings.console_trusted_proxies),
        on_loop=on_loop,
    )
    links = LinkRequestFace(core, public_url=runtime.settings.public_url)
    routes: list[Route | Mount] = [
        *(Route(path, links.handle, methods=["GET", "POST"]) for path in REQUEST_PATHS),
        *LinkPagesFace(core, public_url=runtime.settings.public_url).routes(),
        Route("/health", _health, methods=["GET"]),
        Route("/ready", _ready(runtime), methods=["GET"]),
        Route("/metrics", _metrics(runtime.metrics), methods=["GET"]),
        Route("/cvs/receipt/{payment_id}/{token}", ReceiptPage(core).handle, methods=["GET"]),
        *SandboxApi(core, authenticator, require_client_cert=require_client_cert).routes(),
        *_bank_net_routes(BankNetPages(core)),
        *_carrier_routes(CarrierPages(core)),
        Route(
            ACS_ROUTE,
            AcsPages(core, runtime.settings.public_url).handle,
            methods=["GET", "POST"],
        ),
    ]
    slips = SlipPage(core, font=runtime.settings.slip_font)
    routes += [
        Route("/cvs/slip/{payment_id}/{token}", slips.page, methods=["GET"]),
        Route("/cvs/slip/{payment_id}/{token}/slip.pdf", slips.pdf, methods=["GET"]),
        ConsoleFace(core, console_config(runtime.settings, tls=require_client_cert)).mount(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Request threads per process: the work is CPU-bound under one GIL, so a few threads keep
        # the database busy while more only lengthen each transaction (measured in bench/).
        to_thread.current_default_thread_limiter().total_tokens = runtime.settings.threads
        # On PostgreSQL the card telegrams run on this loop (kessai.db.loop): their own pool,
        # made here because its connections belong to this loop.
        engine = loop.loop_engine(runtime.settings.resolved_database_url())
        if engine is not None:
            on_loop.core = replace(core, sessions=make_sessionmaker(engine.sync_engine))
            on_loop.slots = asyncio.Semaphore(runtime.settings.threads)
        scheduler = Scheduler(runtime.core, runtime.settings) if run_worker else None
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            on_loop.core = None
            if engine is not None:
                await engine.dispose()

    return Gateway(
        # `/n/…` telegrams, and the same signed with the telegram hash instead of a client
        # certificate under `/s/…`: ahead of the router.
        telegrams=ObservedApp(LogClientDisconnect(telegrams), metrics=runtime.metrics),
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(ObservedApp, metrics=runtime.metrics),
            Middleware(LogClientDisconnect),
        ],
    )


class Gateway(Starlette):
    """The faces' app. The module face's telegrams skip the router and Starlette's own layers
    (the most frequent requests by far, and the cheapest to answer); the same observation and
    disconnect handling as every other request wrap them."""

    def __init__(self, *, telegrams: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self.telegrams = telegrams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(TELEGRAM_PREFIXES):
            scope["app"] = self
            await self.telegrams(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_simulators_app(clock: Clock) -> Starlette:
    """The institution simulators (only the card acquirer's speaks HTTP so far) under /sim/, for a
    listener of their own: their control API (reset, queued failures, the operation list) has no
    authentication, so it must never share a listener with merchants' traffic."""
    from kessai.simulators.acquirer.app import create_app as create_acquirer_simulator

    return Starlette(routes=[Mount("/sim/acquirer", create_acquirer_simulator(clock))])


def _bank_net_routes(pages: BankNetPages) -> list[Route]:
    """The bank-selection page (asp_url) and the sandbox bank's page; forms POST to the same URL."""
    return [
        Route(ASP_PATH, pages.selection, methods=["GET", "POST"]),
        Route(BANK_PATH + "/{payment_id}/{token}", pages.bank, methods=["GET", "POST"]),
    ]


def _carrier_routes(pages: CarrierPages) -> list[Route]:
    """The sandbox carriers' pages: 100's redirect_url / redirect_html and 104's (GET or POST)."""
    return [
        Route("/carrier/pay/{payment_id}/{token}", pages.pay, methods=["GET", "POST"]),
        Route("/carrier/auth/{grant_id}/{token}", pages.login, methods=["GET", "POST"]),
    ]


def console_config(settings: Settings, *, tls: bool) -> ConsoleConfig:
    """The console's deployment facts. Certificates are required when asked for, or ("auto")
    whenever the gateway is served over TLS or behind a proxy that passes certificates on."""
    match settings.console_certificates:
        case "required":
            required = True
        case "off":
            required = False
        case "auto":
            required = tls or settings.console_cert_header is not None
    return ConsoleConfig(
        var_dir=settings.var_dir,
        require_certificate=required,
        idle=timedelta(minutes=settings.console_idle_minutes),
        lockout=LockoutPolicy(
            failures=settings.console_lockout_failures,
            lock_for=timedelta(minutes=settings.console_lockout_minutes),
        ),
        cert_header=settings.console_cert_header,
        trusted_proxies=ConsoleConfig.networks(settings.console_trusted_proxies),
        invoice_issuer_name=settings.invoice_issuer_name,
        invoice_registration_number=settings.invoice_registration_number,
        font=settings.slip_font,
    )


async def _health(_request: Request) -> PlainTextResponse:
    """The process is alive (nothing else is checked: a load balancer's liveness probe)."""
    return PlainTextResponse("ok")


def _ready(runtime: Runtime) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    """Ready for traffic: the database answers and its schema is the one this code needs (503
    with the reason otherwise: take the instance out of rotation, do not restart it)."""

    def check() -> tuple[int, str]:
        url = runtime.settings.resolved_database_url()
        try:
            status = schema_status(url, runtime.engine)
        except Exception as error:
            return 503, f"database unreachable: {type(error).__name__}"
        if status != "current":
            return 503, f"database schema {status}; run kessai migrate"
        return 200, "ready"

    async def ready(_request: Request) -> PlainTextResponse:
        code, text = await to_thread.run_sync(check)
        return PlainTextResponse(text, status_code=code)

    return ready


def _metrics(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(_request: Request) -> Response:
        body = await to_thread.run_sync(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return scrape
