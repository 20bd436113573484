"""The sandbox demo merchant of the one-command run."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.core.merchants.commands import create_merchant, get_merchant, rotate_password
from kessai.kit.errors import NotFound


def ensure_demo_merchant(settings: Settings, merchant_id: int) -> dict[str, Any]:
    """Create the demo merchant on first run; afterwards reuse the credentials file (0600).
    If the file was lost, a new password is issued (the stored one is only a hash)."""
    path = settings.var_dir / "demo-merchant.json"
    runtime = build_runtime(settings)
    with runtime.core.sessions.begin() as session:
        now = runtime.core.clock.now()
        try:
            merchant = get_merchant(session, merchant_id)
        except NotFound:
            creds = asdict(
                create_merchant(
                    session,
                    secret=runtime.core.secret,
                    now=now,
                    name="Kessai demo shop",
                    merchant_id=merchant_id,
                )
            )
        else:
            if path.exists():
                return dict(json.loads(path.read_text()))
            creds = {
                "merchant_id": merchant.id,
                "connect_id": merchant.connect_id,
                "hash_key": merchant.link_hash_key,
                "link_signature": merchant.link_signature,
                "notification_hash_key": merchant.notification_hash_key,
                "threeds_hash_key": merchant.threeds_hash_key,
                "connect_password": rotate_password(
                    session, merchant_id, secret=runtime.core.secret, now=now
                ),
            }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(creds, handle, ensure_ascii=False, indent=2)
    runtime.engine.dispose()
    return creds
