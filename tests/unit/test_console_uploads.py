"""Uploaded order lists kept between the steps: only the uploader's token opens one, a token that
is not 32 hex digits opens nothing (no path tricks), too big a file is refused and not kept, and
an abandoned upload is swept after an hour."""

from __future__ import annotations

import io
import os
import time

import pytest

from kessai.kit.errors import InvalidRequest, NotFound
from kessai.web.console import uploads
from kessai.web.console.uploads import Uploads


def test_only_the_uploaders_token_opens_the_file(tmp_path):
    store = Uploads(tmp_path / "up")
    saved = store.save(7, 3, io.BytesIO(b"id,amount\r\n"))
    assert store.open(7, 3, saved.token).read_bytes() == b"id,amount\r\n"
    for merchant_id, user_id, token in (
        (7, 4, saved.token),
        (8, 3, saved.token),
        (7, 3, "../" + saved.token),
        (7, 3, saved.token.upper()),
        (7, 3, ""),
    ):
        with pytest.raises(NotFound):
            store.open(merchant_id, user_id, token)


def test_too_big_a_file_is_refused_and_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_BYTES", 1000)
    store = Uploads(tmp_path / "up")
    with pytest.raises(InvalidRequest):
        store.save(7, 3, io.BytesIO(b"x" * 1001))
    assert list((tmp_path / "up").iterdir()) == []


def test_an_abandoned_upload_is_swept_after_an_hour(tmp_path):
    store = Uploads(tmp_path / "up")
    old = store.save(7, 3, io.BytesIO(b"a"))
    fresh = store.save(7, 3, io.BytesIO(b"b"))
    two_hours_ago = time.time() - 7200
    os.utime(old.path, (two_hours_ago, two_hours_ago))
    store.save(7, 3, io.BytesIO(b"c"))
    assert not old.path.exists() and fresh.path.exists()
