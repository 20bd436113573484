"""What every core command needs, built once by the composition root (app.py) and passed down."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from kessai.connectors.base import (
    AccountUpdater,
    BankNet,
    CardAcquirer,
    CarrierBilling,
    CvsChain,
    PayEasyAgency,
    SlipAgency,
    ThreeDSServer,
    VirtualAccountBank,
)
from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import SealedCard
from kessai.core.files.layout import FileLayout, LineOutcome
from kessai.db.session import pinned_sessions
from kessai.kit.clock import Clock
from kessai.kit.secrets import CardNumber


class CardVault(Protocol):
    """Encrypts card numbers at rest (kessai.core.cards.vault.Vault)."""

    def store(self, session: Session, number: CardNumber) -> VaultCard: ...

    def seal(self, number: CardNumber) -> SealedCard:
        """The row's fields for `number`, written by the caller (the lean authorisation path)."""
        ...

    def open(self, row: VaultCard | SealedCard) -> CardNumber:
        """The number a row holds, or a sealed card read without loading its row (file lines)."""
        ...

    def reseal(self, row: VaultCard, number: CardNumber) -> None:
        """Replace the number `row` holds: a new data key, the old ciphertext overwritten."""
        ...


class _MerchantRow(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def clock_offset_seconds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class MerchantRef:
    """The authenticated merchant a command acts for."""

    id: int
    mode: str  # "sandbox" | "production"
    # The sandbox test clock's lead over real time (`kessai sandbox clock advance`); 0 in production.
    clock_offset: timedelta = field(default=timedelta(0))

    @classmethod
    def of(cls, row: _MerchantRow) -> MerchantRef:
        """The reference to a merchant row (or its cached identity)."""
        return cls(
            id=row.id, mode=row.mode, clock_offset=timedelta(seconds=row.clock_offset_seconds)
        )


class FileLines(Protocol):
    """How a file's lines are checked and run (web/module/files.py): each file type's columns, the
    codec of its telegram, and its telegram's handler, so a line runs exactly as the telegram does.
    The composition root hands it to the core; without it no file is accepted (9102)."""

    def layout(self, file_type: str) -> FileLayout | None: ...

    def check(self, file_type: str, fields: Mapping[str, str]) -> dict[str, str]: ...

    def run(
        self, core: Core, merchant: MerchantRef, file_type: str, fields: Mapping[str, str]
    ) -> LineOutcome: ...

    def pinned(self, file_type: str) -> bool:
        """Whether lines of `file_type` may run on one pinned connection (`Core.pinned`), as
        their telegram does: its command's sessions never nest."""
        ...

    def one_operation(self, file_type: str) -> bool:
        """Whether a line of `file_type` writes nothing but one write-ahead operation (020
        authorisation, 021 capture, 022 cancel): a line cut off mid-call can then be judged by its
        operation (`files.process.recover_stale`): none, it runs again; settled, that is its outcome."""
        ...


@dataclass(frozen=True)
class Core:
    sessions: sessionmaker[Session]
    clock: Clock
    vault: CardVault
    acquirer_for: Callable[[MerchantRef], CardAcquirer]
    secret: bytes  # server secret for credential hashes
    payeasy_for: Callable[[MerchantRef], PayEasyAgency]
    cvs_for: Callable[[MerchantRef], CvsChain]
    banknet_for: Callable[[MerchantRef], BankNet]
    virtual_bank_for: Callable[[MerchantRef], VirtualAccountBank]
    carrier_for: Callable[[MerchantRef], CarrierBilling]
    slip_for: Callable[[MerchantRef], SlipAgency]
    threeds_for: Callable[[MerchantRef], ThreeDSServer]
    updater_for: Callable[[MerchantRef], AccountUpdater]  # 洗替 (card account updater)
    file_lines: FileLines | None = None

    def now_for(self, merchant: MerchantRef) -> datetime:
        """The merchant's time: real time, plus the test clock's lead for a sandbox merchant. Every
        command acting on a merchant's payments reads its time here, so an advanced test clock
        moves deadlines, expiries and timestamps together."""
        return self.clock.now() + merchant.clock_offset

    @contextmanager
    def pinned(self) -> Iterator[Core]:
        """This core with its sessions on one checked-out connection, for one request: a hot-path
        telegram's transactions then cost one pool checkout, not one each. Only for commands
        whose sessions never nest (a nested `begin()` would join the outer transaction)."""
        with pinned_sessions(self.sessions) as sessions:
            yield self if sessions is self.sessions else replace(self, sessions=sessions)
