"""Credentials and merchant IDs are read in one canonical form on every face that takes them.

A credential that is not the protocol's ASCII alphanumerics, or a merchant_id that is not plain ASCII
digits without a leading zero (full-width, superscript or Arabic-Indic digits, a padded zero, a
space), is a wrong credential: P002 like any other, never E001, and nothing in the log but the one
line of the request. Sent over real HTTP in Windows-31J and in UTF-8, as merchants' modules do.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.telegrams import form_body, header, parse_reply

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _attacks(merchant_id: int, connect_id: str, password: str) -> dict[str, tuple[str, str]]:
    """name → (field, value): each a credential that must not authenticate (nor crash)."""
    mid = str(merchant_id)
    return {
        "connect_id_ellipsis": ("connect_id", "…"),
        "connect_id_kanji": ("connect_id", "接続"),
        "connect_id_fullwidth": ("connect_id", connect_id.translate(FULLWIDTH)),
        "connect_id_trailing_space": ("connect_id", connect_id + " "),
        "password_ellipsis": ("connect_password", "…"),
        "password_fullwidth": ("connect_password", password + "１"),
        "merchant_id_fullwidth": ("merchant_id", mid.translate(FULLWIDTH)),
        "merchant_id_superscript": ("merchant_id", "²"),
        "merchant_id_arabic_indic": ("merchant_id", mid.translate(ARABIC_INDIC)),
        "merchant_id_leading_zero": ("merchant_id", "0" + mid),
        "merchant_id_space": ("merchant_id", " " + mid),
        "merchant_id_sign": ("merchant_id", "+" + mid),
    }


ATTACK_NAMES = list(_attacks(1, "k1", "p"))
ENCODINGS = ("cp932", "utf-8")


def _encodable(value: str, encoding: str) -> None:
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"{encoding} cannot carry {value!r}")


@contextmanager
def _no_traceback(log_file: Path) -> Iterator[None]:
    before = log_file.stat().st_size
    yield
    with log_file.open("rb") as log:
        log.seek(before)
        written = log.read()
    assert b"Traceback" not in written and b"E001" not in written, written.decode()[-2000:]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_a_non_canonical_credential_in_a_telegram_answers_p002(
    server, merchant, log_file, attack, encoding
):
    name, value = _attacks(merchant.merchant_id, merchant.connect_id, merchant.connect_password)[
        attack
    ]
    _encodable(value, encoding)
    fields = header(merchant, "094", payment_id="1") | {name: value}

    with _no_traceback(log_file):
        response = httpx.post(
            server + "/n/card/request",
            content=form_body(fields, encoding),
            headers={"Content-Type": f"application/x-www-form-urlencoded; charset={encoding}"},
            timeout=30,
        )

    reply = parse_reply(response.content)
    assert response.status_code == 200
    assert (reply.result, reply.code) == ("1", "P002")


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_a_non_canonical_credential_at_the_sandbox_api_answers_p002(
    server, merchant, log_file, attack, encoding
):
    name, value = _attacks(merchant.merchant_id, merchant.connect_id, merchant.connect_password)[
        attack
    ]
    _encodable(value, encoding)
    creds = {"merchant_id": str(merchant.merchant_id)} | {
        "connect_id": merchant.connect_id,
        "connect_password": merchant.connect_password,
    }
    creds[name] = value
    basic = f"{creds['connect_id']}:{creds['connect_password']}".encode(encoding)
    path = httpx.URL(server).copy_with(path=f"/sandbox/merchants/{creds['merchant_id']}/clock")

    with _no_traceback(log_file):
        response = httpx.get(
            path,
            headers={"Authorization": "Basic " + base64.b64encode(basic).decode()},
            timeout=30,
        )

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "P002"


def test_the_canonical_credentials_still_pass(server, merchant):
    """The same requests with the merchant's real credentials: the attacks fail on their value."""
    reply = parse_reply(
        httpx.post(
            server + "/n/card/request",
            content=form_body(header(merchant, "094", payment_id="1")),
            timeout=30,
        ).content
    )
    assert reply.code != "P002"
    clock = httpx.get(
        f"{server}/sandbox/merchants/{merchant.merchant_id}/clock",
        auth=(merchant.connect_id, merchant.connect_password),
        timeout=30,
    )
    assert clock.status_code == 200
