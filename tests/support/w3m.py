"""Driving w3m, the text browser, from a test: w3m runs in a detached tmux session, keys are sent
with `send-keys` and the screen is read with `capture-pane`. No CSS, no JavaScript: what a buyer on
a simple phone or a terminal gets."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.system import needs_system_package

TIMEOUT = 15.0


def require_w3m() -> None:
    for tool in ("w3m", "tmux"):
        if shutil.which(tool) is None:
            pytest.skip(needs_system_package(tool))


class W3m:
    def __init__(self, home: Path, url: str, *, language: str = "ja") -> None:
        self.socket = f"kessai-w3m-{uuid.uuid4().hex[:10]}"
        home.mkdir(parents=True, exist_ok=True)
        command = (
            f"env LANG=C.UTF-8 HOME={home} w3m -o accept_cookie=1 -o use_cookie=1 "
            f"-o accept_bad_cookie=1 -o confirm_qq=0 -o accept_language={language} '{url}'"
        )
        self._tmux("new-session", "-d", "-x", "110", "-y", "60", command)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args],
            capture_output=True, text=True, check=True, timeout=TIMEOUT,
        )  # fmt: skip
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the w3m screen:\n{shown}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def find(self, text: str) -> None:
        """Move the cursor to `text` (w3m's forward search)."""
        self.keys("/")
        self.wait_for("Forward:")
        self.keys("-l", text)
        self.keys("Enter")
        time.sleep(0.2)

    def fill(self, label: str, value: str) -> None:
        """Type into the field after `label` (search the label, TAB to the field, Enter to edit)."""
        self.find(label)
        self.keys("Tab", "Enter")
        self.wait_for("TEXT:")
        self.keys("-l", value)
        self.keys("Enter")
        self.wait_for(value[:8])

    def fill_password(self, label: str, value: str) -> None:
        """Type into the password field after `label` (w3m shows stars, not the value)."""
        self.find(label)
        self.keys("Tab", "Enter")
        self.wait_for("Password:")
        self.keys("-l", value)
        self.keys("Enter")
        self.wait_for("*" * len(value))

    def pick(self, label: str, steps: int) -> None:
        """Choose the option `steps` below the first in the select after `label`."""
        self.find(label)
        self.keys("Tab", "Enter")
        time.sleep(0.3)
        for _ in range(steps):
            self.keys("j")
        self.keys("Enter")
        time.sleep(0.2)

    def press(self, text: str) -> None:
        """Press the button (or follow the link) showing `text`."""
        self.find(text)
        self.keys("Enter")

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=TIMEOUT
        )
