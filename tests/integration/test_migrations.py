"""The schema comes from Alembic, and the models agree with it (no drift, on either database)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from kessai.db.migrate import alembic_config, downgrade, upgrade
from kessai.db.models import Base


def test_models_match_the_migrated_schema(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    # The head of the scripts, not a number: each new migration would otherwise edit this test.
    assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_merchants_that_exist_before_0011_keep_paygents_hash(tmp_path):
    """PAYGENT shops go on signing as they did; only new merchants get hmac."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0010")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO merchants (id, name, connect_id, connect_password_hash, link_hash_key,"
            " notification_hash_key, threeds_hash_key, enabled_methods, mode, clock_offset_seconds,"
            " created_at, updated_at) VALUES (41001, 'old', 'c41001', 'x', 'k', 'k', 'k', '02',"
            " 'sandbox', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    upgrade(url)
    with engine.connect() as connection:
        scheme = connection.exec_driver_sql("SELECT link_signature FROM merchants").scalar()
    engine.dispose()
    assert scheme == "paygent"


def test_merchants_that_exist_before_0015_keep_their_notices_at_their_own_url(tmp_path):
    """The upgrade moves no merchant's notices: inform_url is honoured once the operator says so."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0013")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO merchants (id, name, connect_id, connect_password_hash, link_hash_key,"
            " link_signature, notification_hash_key, threeds_hash_key, enabled_methods, mode,"
            " clock_offset_seconds, created_at, updated_at) VALUES (41001, 'old', 'c41001', 'x',"
            " 'k', 'paygent', 'k', 'k', '02', 'sandbox', 0, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')"
        )
    upgrade(url)
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("SELECT inform_url_mode FROM merchants").scalar()
    engine.dispose()
    assert mode == "ignore"
