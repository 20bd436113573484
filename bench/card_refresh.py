"""洗替 (the card account updater) over many stored cards, in process.

    .venv/bin/python bench/card_refresh.py [--db postgresql|sqlite] [--cards 2000] [--json FILE]

One run: a fresh database (PostgreSQL: `kessai_bench_<random>` on --admin-url, dropped at the end;
SQLite: a temporary file), migrated; a sandbox merchant; `--cards` stored cards written through
the vault (a mix of the sandbox updater's stub digits: 60 % unchanged, 10 % each new expiry, new
number, closed, contact cardholder). Then `refresh_merchant` runs over all of them, as
`kessai cards refresh` does (each card: write-ahead transaction, the in-process sandbox updater,
apply transaction). Reported: cards, seconds, cards per second, the count of each outcome.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.core.cards.models import StoredCard
from kessai.core.cards.updater import Trigger, refresh_merchant
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import create_merchant
from kessai.db.migrate import upgrade
from kessai.kit.secrets import CardNumber

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Last four digits by share: the sandbox updater's stub rules (docs/user/card-updater.md).
MIX = ("1000",) * 6 + ("7100", "7200", "7300", "7400")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        if args.db == "sqlite":
            report = run(f"sqlite:///{home}/bench.db", Path(home), args.cards)
        else:
            report = on_postgres(args.admin_url, Path(home), args.cards)
    report["db"] = args.db
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report))


def on_postgres(admin_url: str, home: Path, cards: int) -> dict[str, object]:
    name = f"kessai_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return run(admin_url.rsplit("/", 1)[0] + f"/{name}", home, cards)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, home: Path, cards: int) -> dict[str, object]:
    upgrade(url)
    runtime = build_runtime(Settings(home=home, database_url=url))
    core = runtime.core
    with core.sessions.begin() as session:
        merchant_id = create_merchant(
            session, secret=core.secret, now=core.clock.now(), name="bench"
        ).merchant_id
    merchant = MerchantRef(id=merchant_id, mode="sandbox")
    started = time.perf_counter()
    store_cards(runtime, merchant_id, cards)
    print(f"stored {cards} cards in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    summary = refresh_merchant(core, merchant, trigger=Trigger.CLI)
    seconds = time.perf_counter() - started
    runtime.engine.dispose()
    return {
        "cards": len(summary.results),
        "seconds": round(seconds, 2),
        "cards_per_second": round(len(summary.results) / seconds, 1),
        "counts": {k: v for k, v in summary.counts.items() if v},
    }


def store_cards(runtime, merchant_id: int, count: int) -> None:  # type: ignore[no-untyped-def]
    core = runtime.core
    for start in range(0, count, 500):
        with core.sessions.begin() as session:
            now = core.clock.now()
            for n in range(start, min(count, start + 500)):
                number = CardNumber(f"4980{n:08d}{MIX[n % len(MIX)]}")
                vault_row = core.vault.store(session, number)
                session.add(
                    StoredCard(
                        merchant_id=merchant_id,
                        site_id="",
                        customer_id=f"B{n}",
                        vault_card_id=vault_row.id,
                        card_valid_term="1230",
                        card_brand=vault_row.brand,
                        cardholder_name="",
                        add_info1="",
                        add_info2="",
                        add_info3="",
                        add_info4="",
                        valid_check_result="",
                        issur_name="",
                        last_used_at=now,
                        created_at=now,
                        valid_check_count=0,
                        refresh_result="",
                    )
                )


if __name__ == "__main__":
    main()
