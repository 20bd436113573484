"""Group commit (`kessai.db.group_commit`) on the real PostgreSQL server: each thread gets its own
statement's row, the group is one commit, and a statement that fails fails only its own thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kessai.db.group_commit import StatementGroup, run_statement
from tests import conftest

pytestmark = pytest.mark.skipif(
    conftest.test_db_kind() != "postgresql", reason="group commit runs on PostgreSQL only"
)


def _in_group(runtime, statements):
    group = StatementGroup(runtime.engine, len(statements))

    def one(item):
        sql, params = item
        with group.member():
            try:
                return run_statement(runtime.core.sessions, sql, params)
            except Exception as error:  # the thread's own error
                return type(error).__name__

    try:
        with ThreadPoolExecutor(len(statements)) as pool:
            return list(pool.map(one, statements)), group.flushes
    finally:
        group.close()


def test_each_thread_gets_its_own_row_from_one_commit(runtime):
    statements = [("SELECT %(n)s::int * 2, txid_current()", {"n": n}) for n in range(8)]
    rows, flushes = _in_group(runtime, statements)
    assert [row[0] for row in rows] == [n * 2 for n in range(8)]
    assert flushes == 1
    assert len({row[1] for row in rows}) == 1  # one transaction for the eight


def test_a_failing_statement_fails_only_its_own_thread(runtime):
    statements = [("SELECT 10 / %(n)s::int", {"n": n}) for n in (1, 0, 5)]
    rows, _ = _in_group(runtime, statements)
    assert rows[0] == (10,) and rows[2] == (2,)
    assert rows[1] == "DivisionByZero"
