"""`kessai keys …`: the card vault's master keys."""

from __future__ import annotations

import click

from kessai.cli.common import fail, guard, load_settings


@click.group()
def keys() -> None:
    """Manage the card vault's master keys (KESSAI_MASTER_KEY or var/keys/master/)."""


@keys.command()
@click.option("--batch-size", default=500, show_default=True, help="Cards per transaction.")
@click.option(
    "--resume", is_flag=True, help="Finish an interrupted rotation without creating another key."
)
@guard
def rotate(batch_size: int, resume: bool) -> None:
    """Re-wrap every card's data key under a new master key, while the gateway keeps running.

    With key files, a new key is created and made active first. With KESSAI_MASTER_KEY, put the
    new key in front of the list (key_id:base64,old_id:base64), restart the servers, then run
    this with --resume to re-wrap the cards still on old keys.
    """
    from kessai.core.cards.keyring import load_keyring
    from kessai.core.cards.rotation import rotate as rotate_keys
    from kessai.db.session import make_engine, make_sessionmaker

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url())
    with click.progressbar(length=1, label="re-wrapping data keys", file=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        report = rotate_keys(
            make_sessionmaker(engine),
            load_keyring(settings),
            new_key=not resume,
            batch_size=batch_size,
            progress=progress,
        )
    for line in report.lines():
        click.echo(line)
    if not report.complete:
        fail("some cards are still on old keys; see above, then run: kessai keys rotate --resume")
