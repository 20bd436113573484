"""Secret files on disk: created once with mode 0600, refused when others can read them."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file is missing, unreadable, malformed or too open."""


def load_or_create_key(path: Path, *, size: int = 32) -> bytes:
    """The key in `path` (base64), creating it with mode 0600 (directory 0700) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: read theirs
            return read_key(path, size=size)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(size)).decode() + "\n")
    return read_key(path, size=size)


def read_key(path: Path, *, size: int = 32) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} can be read by other users (mode {stat.filemode(mode)}). Run: chmod 600 {path}"
        )
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not base64: restore it from your backup") from exc
    if len(key) != size:
        raise KeyFileError(
            f"{path} holds {len(key)} bytes, expected {size}: restore it from backup"
        )
    return key
