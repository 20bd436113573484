"""The card vault and its key ring: sealing, tamper detection, fingerprints, key files, env keys."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from kessai.config import Settings
from kessai.core.cards.keyring import (
    Keyring,
    KeyringError,
    MissingMasterKeyError,
    derived_key_id,
    load_keyring,
    parse_env_master_keys,
)
from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import SealedCard, Vault, VaultIntegrityError
from kessai.kit.secrets import CardNumber

PAN = "4111111111111111"
KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
FP_KEY = bytes(range(64, 96))


def ring(*keys: tuple[str, bytes], fingerprint_key: bytes = FP_KEY) -> Keyring:
    return Keyring.in_memory(dict(keys), keys[0][0], fingerprint_key)


@pytest.fixture
def vault() -> Vault:
    return Vault(ring(("ka", KEY_A), ("kb", KEY_B)))


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def file_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, master_key=None)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def row_from(sealed: SealedCard, row_id: int = 7) -> VaultCard:
    return VaultCard(
        id=row_id,
        key_id=sealed.key_id,
        wrapped_key=sealed.wrapped_key,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        fingerprint=sealed.fingerprint,
        masked=sealed.masked,
        brand=sealed.brand,
    )


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def encodings_of(pan: str) -> list[bytes]:
    forms = [pan.encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le")]
    forms.append(bytes.fromhex(pan))  # packed BCD, as card systems sometimes keep it
    forms.append(int(pan).to_bytes(8, "big"))
    return forms


# --- sealing and opening --------------------------------------------------------------------------


def test_sealed_card_opens_to_the_same_number(vault: Vault) -> None:
    sealed = vault.seal(CardNumber(PAN))
    assert vault.open(sealed) == CardNumber(PAN)
    assert vault.open(row_from(sealed)).reveal() == PAN


def test_sealed_card_records_active_key_mask_and_brand(vault: Vault) -> None:
    sealed = vault.seal(CardNumber("5500000000000004"))
    assert sealed.key_id == "ka"
    assert sealed.masked == "550000******0004"
    assert sealed.brand == "MASTER"
    assert len(sealed.nonce) == 12
    assert len(sealed.fingerprint) == 64


def test_sealed_bytes_never_contain_the_number_in_any_encoding(vault: Vault) -> None:
    sealed = vault.seal(CardNumber(PAN))
    stored = sealed.ciphertext + sealed.wrapped_key + sealed.nonce
    for form in encodings_of(PAN):
        assert form not in stored
    assert PAN not in repr(sealed)


def test_two_seals_of_one_card_differ_but_share_the_fingerprint(vault: Vault) -> None:
    first, second = vault.seal(CardNumber(PAN)), vault.seal(CardNumber(PAN))
    assert first.ciphertext != second.ciphertext
    assert first.nonce != second.nonce
    assert first.wrapped_key != second.wrapped_key
    assert first.fingerprint == second.fingerprint == vault.fingerprint(CardNumber(PAN))


def test_different_cards_have_different_fingerprints(vault: Vault) -> None:
    assert vault.fingerprint(CardNumber(PAN)) != vault.fingerprint(CardNumber("4111111111111129"))


def test_fingerprint_depends_on_the_fingerprint_key_not_the_master_key() -> None:
    before = Vault(ring(("ka", KEY_A))).fingerprint(CardNumber(PAN))
    after_rotation = Vault(ring(("kb", KEY_B))).fingerprint(CardNumber(PAN))
    other_fp_key = Vault(ring(("ka", KEY_A), fingerprint_key=KEY_B)).fingerprint(CardNumber(PAN))
    assert before == after_rotation
    assert before != other_fp_key


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_key"])
def test_tampering_with_any_sealed_field_is_refused(vault: Vault, field: str) -> None:
    sealed = vault.seal(CardNumber(PAN))
    row = row_from(sealed)
    original: bytes = getattr(row, field)
    for index in (0, len(original) // 2, len(original) - 1):
        setattr(row, field, flip(original, index))
        with pytest.raises(VaultIntegrityError) as caught:
            vault.open(row)
        assert PAN not in str(caught.value)
    setattr(row, field, original)
    assert vault.open(row).reveal() == PAN


def test_truncated_wrapped_key_is_refused(vault: Vault) -> None:
    row = row_from(vault.seal(CardNumber(PAN)))
    row.wrapped_key = row.wrapped_key[:-1]
    with pytest.raises(VaultIntegrityError):
        vault.open(row)


def test_relabelled_key_id_is_refused(vault: Vault) -> None:
    row = row_from(vault.seal(CardNumber(PAN)))
    row.key_id = "kb"
    with pytest.raises(VaultIntegrityError):
        vault.open(row)


def test_card_under_an_unknown_key_names_the_key(vault: Vault) -> None:
    row = row_from(vault.seal(CardNumber(PAN)))
    with pytest.raises(MissingMasterKeyError, match="ka"):
        Vault(ring(("kb", KEY_B))).open(row)


@pytest.mark.parametrize(
    "bad", ["4111 1111 1111 1111", "41111111111", "4" * 20, "４１１１１１１１１１１１１"]
)
def test_seal_refuses_anything_but_12_to_19_ascii_digits_without_echoing_it(
    vault: Vault, bad: str
) -> None:
    with pytest.raises(ValueError) as caught:
        vault.seal(CardNumber(bad))
    assert bad not in str(caught.value)


def test_rewrap_moves_the_key_and_leaves_card_data_untouched(vault: Vault) -> None:
    row = row_from(vault.seal(CardNumber(PAN)))
    ciphertext, nonce, wrapped = row.ciphertext, row.nonce, row.wrapped_key
    assert vault.rewrap(row, "kb") is True
    assert (row.key_id, row.ciphertext, row.nonce) == ("kb", ciphertext, nonce)
    assert row.wrapped_key != wrapped
    assert Vault(ring(("kb", KEY_B))).open(row).reveal() == PAN  # the old key is no longer needed
    assert vault.rewrap(row, "kb") is False


@settings(max_examples=200, deadline=None)
@given(pan=st.text(alphabet="0123456789", min_size=14, max_size=16))
def test_any_14_to_16_digit_number_round_trips(pan: str) -> None:
    vault = Vault(ring(("ka", KEY_A)))
    sealed = vault.seal(CardNumber(pan))
    assert vault.open(sealed).reveal() == pan
    assert pan.encode() not in sealed.ciphertext
    assert sealed.masked == pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


# --- key files ------------------------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)  # the most permissive umask: modes must come from the code, not it
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_first_run_creates_private_key_files(tmp_path: Path) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    keys = tmp_path / "var" / "keys"
    master = keys / "master"
    key_file = master / f"{keyring.active.key_id}.key"
    assert mode_of(master) == 0o700
    assert mode_of(keys) == 0o700
    assert mode_of(key_file) == 0o600
    assert mode_of(master / "ACTIVE") == 0o600
    assert mode_of(keys / "fingerprint.key") == 0o600
    assert (master / "ACTIVE").read_text().strip() == keyring.active.key_id
    assert base64.b64decode(key_file.read_text()) == keyring.active.secret
    assert keyring.active.key_id.startswith("k") and len(keyring.active.key_id) == 13


def test_key_files_are_reused_on_the_next_run(tmp_path: Path) -> None:
    first = load_keyring(file_settings(tmp_path))
    second = load_keyring(file_settings(tmp_path))
    assert second.active == first.active
    assert second.fingerprint_key == first.fingerprint_key
    sealed = Vault(first).seal(CardNumber(PAN))
    assert Vault(second).open(sealed).reveal() == PAN


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    key_file = tmp_path / "var" / "keys" / "master" / f"{keyring.active.key_id}.key"
    key_file.chmod(mode)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyring(file_settings(tmp_path))


def test_fingerprint_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_keyring(file_settings(tmp_path))
    (tmp_path / "var" / "keys" / "fingerprint.key").chmod(0o644)
    with pytest.raises(KeyringError, match=r"fingerprint\.key"):
        load_keyring(file_settings(tmp_path))


def test_master_key_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    load_keyring(file_settings(tmp_path))
    (tmp_path / "var" / "keys" / "master").chmod(0o755)
    with pytest.raises(KeyringError, match="chmod 700"):
        load_keyring(file_settings(tmp_path))


def test_wrong_length_key_file_is_refused(tmp_path: Path) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    key_file = tmp_path / "var" / "keys" / "master" / f"{keyring.active.key_id}.key"
    key_file.write_text(b64(os.urandom(16)))
    with pytest.raises(KeyringError, match="16 bytes"):
        load_keyring(file_settings(tmp_path))


def test_active_naming_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    (tmp_path / "var" / "keys" / "master" / f"{keyring.active.key_id}.key").unlink()
    with pytest.raises(KeyringError, match="Restore"):
        load_keyring(file_settings(tmp_path))


def test_key_files_without_active_are_refused_not_guessed(tmp_path: Path) -> None:
    load_keyring(file_settings(tmp_path))
    (tmp_path / "var" / "keys" / "master" / "ACTIVE").unlink()
    with pytest.raises(KeyringError, match="ACTIVE"):
        load_keyring(file_settings(tmp_path))


def test_new_active_key_is_seen_by_a_ring_loaded_before_it(tmp_path: Path) -> None:
    rotating = load_keyring(file_settings(tmp_path))
    serving = load_keyring(file_settings(tmp_path))  # another process, loaded earlier
    old_id = rotating.active.key_id
    new_id = rotating.add_new_active()
    assert new_id != old_id
    assert mode_of(tmp_path / "var" / "keys" / "master" / f"{new_id}.key") == 0o600
    assert serving.active.key_id == new_id
    assert serving.get(old_id).key_id == old_id
    assert rotating.fingerprint_key == serving.fingerprint_key


def test_a_key_created_elsewhere_is_found_when_a_card_needs_it(tmp_path: Path) -> None:
    serving = load_keyring(file_settings(tmp_path))
    new_id = load_keyring(file_settings(tmp_path)).add_new_active()
    assert new_id not in serving.key_ids
    assert serving.get(new_id).key_id == new_id


def test_unknown_key_id_is_refused_with_what_to_do(tmp_path: Path) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    with pytest.raises(MissingMasterKeyError, match=r"k20000101dead.*Restore"):
        keyring.get("k20000101dead")


def test_keyring_and_keys_never_show_secrets_in_repr(tmp_path: Path) -> None:
    keyring = load_keyring(file_settings(tmp_path))
    shown = repr(keyring) + repr(keyring.active)
    for secret in (keyring.active.secret, keyring.fingerprint_key):
        assert b64(secret) not in shown
        assert secret.hex() not in shown
        assert repr(secret) not in shown


# --- env keys -------------------------------------------------------------------------------------


def test_single_env_key_gets_an_id_derived_from_the_key() -> None:
    keys, active = parse_env_master_keys(b64(KEY_A))
    assert keys == {active: KEY_A}
    assert active == derived_key_id(KEY_A) != derived_key_id(KEY_B)
    assert active.startswith("env-")


def test_env_key_list_makes_the_first_entry_active() -> None:
    keys, active = parse_env_master_keys(f" knew:{b64(KEY_B)} , kold:{b64(KEY_A)} ")
    assert active == "knew"
    assert keys == {"knew": KEY_B, "kold": KEY_A}


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "empty"),
        ("not base64!", "base64"),
        (b64(KEY_A[:16]), "16 bytes"),
        (f"ka:{b64(KEY_A)},{b64(KEY_B)}", "no key id"),
        (f"ka:{b64(KEY_A)},ka:{b64(KEY_B)}", "twice"),
        (f"ka:{b64(KEY_A)},kb:{b64(KEY_A)}", "repeats"),
        (f"k/a:{b64(KEY_A)}", "not a valid key id"),
    ],
)
def test_bad_env_keys_are_refused_without_echoing_them(value: str, complaint: str) -> None:
    with pytest.raises(KeyringError, match=complaint) as caught:
        parse_env_master_keys(value)
    assert b64(KEY_A) not in str(caught.value)
    assert b64(KEY_A)[:12] not in str(caught.value)


def test_swapped_env_entry_does_not_echo_the_key() -> None:
    with pytest.raises(KeyringError) as caught:
        parse_env_master_keys(f"{b64(KEY_A)}:ka")
    assert b64(KEY_A)[:8] not in str(caught.value)


def test_env_ring_comes_from_settings_and_cannot_add_keys(tmp_path: Path) -> None:
    value = f"knew:{b64(KEY_B)},kold:{b64(KEY_A)}"
    keyring = load_keyring(Settings(home=tmp_path, master_key=SecretStr(value)))
    assert keyring.source == "env"
    assert keyring.active.key_id == "knew"
    assert keyring.get("kold").secret == KEY_A
    assert not (tmp_path / "var" / "keys" / "master").exists()
    with pytest.raises(KeyringError, match=r"KESSAI_MASTER_KEY.*to the front"):
        keyring.add_new_active()


def test_env_ring_keeps_its_fingerprint_key_when_the_master_key_changes(tmp_path: Path) -> None:
    before = load_keyring(Settings(home=tmp_path, master_key=SecretStr(f"ka:{b64(KEY_A)}")))
    rotated = f"kb:{b64(KEY_B)},ka:{b64(KEY_A)}"
    after = load_keyring(Settings(home=tmp_path, master_key=SecretStr(rotated)))
    assert Vault(before).fingerprint(CardNumber(PAN)) == Vault(after).fingerprint(CardNumber(PAN))
