"""The console's pure rules: roles and permissions, who may manage whom, CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.console.permissions import ALL, Permission, Role, effective, parse_permissions
from kessai.core.console.users import UserView, check_may_manage
from kessai.kit.errors import AuthError, InvalidRequest, NotFound
from kessai.web.console.pages.export import _cell

NOW = datetime(2026, 4, 1, tzinfo=UTC)


def user(user_id: int, role: Role, *granted: Permission, merchant_id: int = 1) -> UserView:
    return UserView(
        id=user_id,
        merchant_id=merchant_id,
        login=f"u{user_id}",
        role=role,
        granted=frozenset(granted),
        must_change_password=False,
        disabled=False,
        locked_until=None,
        failed_logins=0,
        last_login_at=None,
        created_at=NOW,
    )


@given(st.frozensets(st.sampled_from(list(Permission))))
def test_an_admin_has_everything_and_a_general_user_exactly_what_was_granted(granted):
    assert effective(Role.ADMIN, granted) == ALL
    assert effective(Role.GENERAL, granted) == granted


def test_unknown_permission_names_are_refused_with_the_known_ones():
    with pytest.raises(InvalidRequest, match="known: view, card"):
        parse_permissions(["view", "fly"])


def test_an_admin_manages_anyone_of_the_merchant_but_not_themselves():
    admin = user(1, Role.ADMIN)
    check_may_manage(admin, user(2, Role.ADMIN), role=Role.ADMIN, permissions=ALL)
    with pytest.raises(AuthError):
        check_may_manage(admin, admin, role=Role.GENERAL, changes_self=True)
    with pytest.raises(NotFound):
        check_may_manage(admin, user(3, Role.GENERAL, merchant_id=2))


def test_a_user_manager_grants_only_what_they_have_and_never_touches_admins():
    manager = user(1, Role.GENERAL, Permission.VIEW, Permission.USERS)
    check_may_manage(manager, user(2, Role.GENERAL), permissions=frozenset({Permission.VIEW}))
    with pytest.raises(AuthError):
        check_may_manage(manager, user(2, Role.GENERAL), permissions=frozenset({Permission.CARD}))
    with pytest.raises(AuthError):
        check_may_manage(manager, user(3, Role.ADMIN))
    with pytest.raises(AuthError):
        check_may_manage(manager, None, role=Role.ADMIN)
    with pytest.raises(AuthError):
        check_may_manage(user(4, Role.GENERAL, Permission.VIEW), None)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+81", "'+81"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("山田", "山田"),
        (1000, "1000"),
        (None, ""),
    ],
)
def test_csv_cells_that_excel_would_run_are_defused(value, cell):
    assert _cell(value) == cell
