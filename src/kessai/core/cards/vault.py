"""The card vault: seal a card number for storage, open it again, re-wrap its key on rotation.

Envelope encryption, one data key per card:

* the PAN is encrypted with AES-256-GCM under a fresh random 256-bit **data key** and a fresh 96-bit
  nonce (`VaultCard.nonce`). A key per card means a nonce can never repeat under one key, and a
  rotation only has to re-wrap 32 bytes per card, never touch the card data;
* the data key is **wrapped** with the active master key, also by AES-256-GCM, and stored as
  ``version(1) || nonce(12) || ciphertext+tag(48)`` in `VaultCard.wrapped_key` (61 bytes). AES-GCM
  rather than AES-KW (RFC 3394) because it authenticates associated data: the wrap is bound to its
  master `key_id` and its purpose, so a wrapped key cannot be relabelled or reused as anything else;
  and its tag is 128 bits against AES-KW's 64-bit check. Random nonces are safe far past any card
  count (a master key would need ~2**32 wraps before a collision becomes a concern, and rotation
  starts a new key). The version byte leaves room to change algorithms without guessing;
* the PAN's associated data names the record's purpose but not the master `key_id`: binding the
  master key there would force re-encrypting every card on rotation. The PAN ciphertext is bound to
  its own data key anyway, and that key to the master key by the wrap's associated data.

A card's **fingerprint** is HMAC-SHA-256 of the PAN under the ring's fingerprint key (hex), for
"same card" checks without decrypting. Security codes have no place here: the vault never takes one.
Nothing in this module logs, and errors never carry a PAN or a key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from kessai.core.cards.keyring import Keyring
from kessai.core.cards.models import VaultCard
from kessai.kit.secrets import CardNumber

DATA_KEY_BYTES: Final = 32  # AES-256
NONCE_BYTES: Final = 12  # 96 bits, GCM's native nonce size
WRAP_VERSION: Final = 1
WRAPPED_KEY_BYTES: Final = 1 + NONCE_BYTES + DATA_KEY_BYTES + 16  # version, nonce, key, GCM tag
PAN_AAD: Final = b"kessai/vault-card/pan/v1"
_WRAP_AAD_PREFIX: Final = b"kessai/vault-card/data-key/v1:"
_FINGERPRINT_PREFIX: Final = b"kessai/pan-fingerprint/v1:"
PAN_LENGTHS: Final = range(12, 20)  # ISO/IEC 7812: 12 to 19 digits; also keeps 6+4 display masked


class VaultIntegrityError(RuntimeError):
    """A sealed card failed authentication: its bytes were altered, or the key is not the one it
    was sealed with. Nothing was decrypted."""


@dataclass(frozen=True)
class SealedCard:
    """What the vault stores for one card; the same fields as a `VaultCard` row."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    fingerprint: str
    masked: str
    brand: str


class Vault:
    """Seals and opens card numbers with the keys of a `Keyring`."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def seal(self, number: CardNumber) -> SealedCard:
        """Encrypt `number` under a new data key, wrapped by the active master key."""
        pan = _pan_bytes(number)
        master = self._keyring.active
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        return SealedCard(
            key_id=master.key_id,
            wrapped_key=_wrap(master.secret, master.key_id, data_key),
            nonce=nonce,
            ciphertext=AESGCM(data_key).encrypt(nonce, pan, PAN_AAD),
            fingerprint=self.fingerprint(number),
            masked=number.display(),
            brand=number.brand(),
        )

    def open(self, row: VaultCard | SealedCard) -> CardNumber:
        """Decrypt a sealed card; `VaultIntegrityError` if anything in it was changed."""
        data_key = self._unwrap(row)
        try:
            pan = AESGCM(data_key).decrypt(row.nonce, row.ciphertext, PAN_AAD)
        except (InvalidTag, ValueError) as exc:
            raise VaultIntegrityError(f"{_describe(row)}: card data failed authentication") from exc
        return CardNumber(pan.decode("ascii"))

    def rewrap(self, row: VaultCard, new_key_id: str) -> bool:
        """Re-wrap the row's data key under master key `new_key_id`, in place.

        The ciphertext and nonce stay as they are. False if the row already uses `new_key_id`."""
        if row.key_id == new_key_id:
            return False
        new_master = self._keyring.get(new_key_id)  # before unwrapping: fail before any change
        data_key = self._unwrap(row)
        row.wrapped_key = _wrap(new_master.secret, new_key_id, data_key)
        row.key_id = new_key_id
        return True

    def fingerprint(self, number: CardNumber) -> str:
        """Hex HMAC-SHA-256 of the PAN: equal for the same card, across master-key rotations."""
        message = _FINGERPRINT_PREFIX + _pan_bytes(number)
        return hmac.new(self._keyring.fingerprint_key, message, hashlib.sha256).hexdigest()

    def _unwrap(self, row: VaultCard | SealedCard) -> bytes:
        master = self._keyring.get(row.key_id)
        blob = row.wrapped_key
        if len(blob) != WRAPPED_KEY_BYTES or blob[0] != WRAP_VERSION:
            raise VaultIntegrityError(f"{_describe(row)}: wrapped data key has an unknown format")
        nonce, wrapped = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return AESGCM(master.secret).decrypt(nonce, wrapped, _wrap_aad(row.key_id))
        except InvalidTag as exc:
            raise VaultIntegrityError(
                f"{_describe(row)}: wrapped data key failed authentication under master key "
                f"{row.key_id} (altered, or that key file holds a different key)"
            ) from exc


def store_card(session: Session, vault: Vault, number: CardNumber, now: datetime) -> VaultCard:
    """Seal `number` and add it to `session` as a `VaultCard` (no flush, no commit)."""
    sealed = vault.seal(number)
    row = VaultCard(
        key_id=sealed.key_id,
        wrapped_key=sealed.wrapped_key,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        fingerprint=sealed.fingerprint,
        masked=sealed.masked,
        brand=sealed.brand,
        created_at=now,
    )
    session.add(row)
    return row


def reseal_card(row: VaultCard, vault: Vault, number: CardNumber) -> None:
    """Make `row` hold `number` instead of its card (洗替's new number), sealed under a new data key
    and the active master key. Every field is overwritten, so the row keeps nothing of the old
    number: not its ciphertext, data key, fingerprint, mask or brand."""
    sealed = vault.seal(number)
    row.key_id = sealed.key_id
    row.wrapped_key = sealed.wrapped_key
    row.nonce = sealed.nonce
    row.ciphertext = sealed.ciphertext
    row.fingerprint = sealed.fingerprint
    row.masked = sealed.masked
    row.brand = sealed.brand


def _wrap(master_secret: bytes, key_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(master_secret).encrypt(nonce, data_key, _wrap_aad(key_id))
    return bytes([WRAP_VERSION]) + nonce + wrapped


def _wrap_aad(key_id: str) -> bytes:
    return _WRAP_AAD_PREFIX + key_id.encode("ascii")


def _pan_bytes(number: CardNumber) -> bytes:
    pan = number.reveal()
    # Only plain ASCII digits are sealed, so a fingerprint is never split by spacing or width.
    if not (pan.isascii() and pan.isdigit() and len(pan) in PAN_LENGTHS):
        raise ValueError("a card number to seal must be 12 to 19 ASCII digits")
    return pan.encode("ascii")


def _describe(row: VaultCard | SealedCard) -> str:
    # Row ids and key ids identify a record for the operator; they reveal nothing about the card.
    row_id = row.id if isinstance(row, VaultCard) else None
    return f"vault card {row_id}" if row_id is not None else "sealed card"
