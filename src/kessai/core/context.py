"""What every core command needs, built once by the composition root (app.py) and passed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from kessai.connectors.base import CardAcquirer, CvsChain, PayEasyAgency
from kessai.core.cards.models import VaultCard
from kessai.kit.clock import Clock
from kessai.kit.secrets import CardNumber


class CardVault(Protocol):
    """Encrypts card numbers at rest (kessai.core.cards.vault.Vault)."""

    def store(self, session: Session, number: CardNumber) -> VaultCard: ...

    def open(self, row: VaultCard) -> CardNumber: ...


@dataclass(frozen=True, slots=True)
class MerchantRef:
    """The authenticated merchant a command acts for."""

    id: int
    mode: str  # "sandbox" | "production"


@dataclass(frozen=True)
class Core:
    sessions: sessionmaker[Session]
    clock: Clock
    vault: CardVault
    acquirer_for: Callable[[MerchantRef], CardAcquirer]
    secret: bytes  # server secret for credential hashes
    payeasy_for: Callable[[MerchantRef], PayEasyAgency]
    cvs_for: Callable[[MerchantRef], CvsChain]
