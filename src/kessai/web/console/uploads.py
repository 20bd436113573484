"""Uploaded order lists kept on the server between the steps of a reconciliation (the upload, the
column mapping, the run) — never in the session cookie nor in a hidden field.

A file is named by its merchant, its user and a random token, so the token a form carries opens
only the uploader's own file; the run removes it, and an upload abandoned at the mapping step is
swept an hour later by the next upload.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kessai.kit.errors import InvalidRequest, NotFound

MAX_BYTES = 512 * 1024 * 1024  # a million order lines are ~60 MB
KEPT_SECONDS = 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    size: int


@dataclass(frozen=True)
class Uploads:
    directory: Path

    def save(self, merchant_id: int, user_id: int, source: BinaryIO) -> Upload:
        """Copy `source` into a new file of the user's (in chunks: constant memory)."""
        self.sweep()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_hex(16)
        path = self._path(merchant_id, user_id, token)
        size = 0
        with path.open("xb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    break
                out.write(chunk)
        if size > MAX_BYTES:
            path.unlink(missing_ok=True)
            raise InvalidRequest(
                message=f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MBまで）。"
            )
        return Upload(token, path, size)

    def open(self, merchant_id: int, user_id: int, token: str) -> Path:
        """The user's upload named `token`; NotFound if it is gone (run, swept) or not theirs."""
        path = self._path(merchant_id, user_id, token) if _TOKEN.match(token) else None
        if path is None or not path.is_file():
            raise NotFound(
                message="アップロードしたファイルが見つかりません。もう一度アップロードしてください。"
            )
        return path

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def sweep(self) -> None:
        """Remove uploads older than an hour (a column mapping never finished)."""
        if not self.directory.is_dir():
            return
        cutoff = time.time() - KEPT_SECONDS
        for entry in os.scandir(self.directory):
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)

    def _path(self, merchant_id: int, user_id: int, token: str) -> Path:
        return self.directory / f"{merchant_id}-{user_id}-{token}.csv"
