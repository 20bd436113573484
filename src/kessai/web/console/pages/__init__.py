"""The console's pages, each with the permission it needs and its name in the audit log."""

from __future__ import annotations

from kessai.core.console.permissions import Permission
from kessai.web.console.pages import (
    audit_log,
    cards,
    dashboard,
    export,
    files,
    logo,
    payments,
    receivables,
    reconcile,
    register,
    signin,
    statements,
    users,
)
from kessai.web.console.routing import Page

P = Permission
POST = ("POST",)

PAGES: tuple[Page, ...] = (
    Page("/logout", signin.logout, None, "logout", POST),
    Page("/password", signin.password_form, None, "password"),
    Page("/password", signin.change_password, None, "password", POST),
    Page("/dashboard", dashboard.show, P.VIEW, "dashboard"),
    Page("/payments", payments.search, P.VIEW, "search"),
    Page("/payments.csv", export.payments_csv, P.DOWNLOAD, "download"),
    Page("/payments/bulk", payments.bulk, P.CARD, "bulk", POST),
    Page("/payments/{payment_id:int}", payments.detail, P.VIEW, "detail"),
    Page("/payments/{payment_id:int}/action", payments.act, P.CARD, "card_operation", POST),
    Page(
        "/payments/{payment_id:int}/notices/{notice_id:int}/resend",
        payments.resend_notice,
        P.NOTIFY,
        "notice_resend",
        POST,
    ),
    Page("/cards", cards.list_cards, P.CARD, "stored_cards"),
    Page("/cards/refresh", cards.refresh, P.CARD, "card_refresh", POST),
    Page("/cards/{card_id:int}", cards.detail, P.CARD, "stored_card"),
    Page("/files", files.list_files, P.CARD, "files"),
    Page("/files", files.upload, P.CARD, "file_upload", POST, files=1),
    Page("/files/{receipt_id}", files.detail, P.CARD, "file"),
    Page("/files/{receipt_id}/progress.json", files.progress_json, P.CARD, "file_progress"),
    Page("/files/{receipt_id}/cancel", files.cancel, P.CARD, "file_cancel", POST),
    Page("/files/{receipt_id}/result.csv", files.download, P.CARD, "file_result"),
    Page("/statements", statements.list_statements, P.STATEMENTS, "statements"),
    Page("/statements/{statement_id:int}", statements.detail, P.STATEMENTS, "statement"),
    Page(
        "/statements/{statement_id:int}/statement.pdf",
        statements.pdf,
        P.STATEMENTS,
        "statement_pdf",
    ),
    Page(
        "/statements/{statement_id:int}/detail.csv",
        statements.csv,
        P.STATEMENTS,
        "statement_csv",
    ),
    Page("/reconcile", reconcile.show, P.RECONCILE, "reconcile"),
    Page("/reconcile", reconcile.upload, P.RECONCILE, "reconcile_upload", POST, files=1),
    Page("/reconcile/columns", reconcile.map_columns, P.RECONCILE, "reconcile_columns", POST),
    Page("/reconcile/jobs/{job_id}", reconcile.progress, P.RECONCILE, "reconcile_progress"),
    Page("/reconcile/{reconciliation_id:int}", reconcile.result, P.RECONCILE, "reconcile_result"),
    Page(
        "/reconcile/{reconciliation_id:int}/result.csv",
        reconcile.download,
        P.RECONCILE,
        "reconcile_download",
    ),
    Page("/receivables", receivables.show, P.RECONCILE, "receivables"),
    Page("/register", register.show, P.REGISTER, "register_form"),
    Page("/register/card", register.card, P.REGISTER, "register_card", POST),
    Page("/register/cvs", register.convenience_store, P.REGISTER, "register_cvs", POST),
    Page("/users", users.list_users, P.USERS, "users"),
    Page("/users/new", users.new_user, P.USERS, "user_form"),
    Page("/users", users.create_user, P.USERS, "user_create", POST),
    Page("/users/{user_id:int}", users.edit_user, P.USERS, "user_view"),
    Page("/users/{user_id:int}", users.update_user, P.USERS, "user_update", POST),
    Page(
        "/users/{user_id:int}/password", users.reset_password, P.USERS, "user_reset_password", POST
    ),
    Page("/users/{user_id:int}/certificate", users.issue_certificate, P.USERS, "cert_issue", POST),
    Page(
        "/users/{user_id:int}/certificate/revoke",
        users.revoke_certificate,
        P.USERS,
        "cert_revoke",
        POST,
    ),
    Page("/certificates/download", users.download_certificate, P.USERS, "cert_download", POST),
    Page("/audit", audit_log.show, P.USERS, "audit"),
    Page("/settings/logo", logo.show, P.USERS, "logo"),
    Page("/settings/logo", logo.upload, P.USERS, "logo_upload", POST, files=1),
    Page("/settings/logo/remove", logo.remove, P.USERS, "logo_remove", POST),
    Page("/audit.csv", audit_log.download, P.USERS, "audit_download"),
)

# Every page of card processing: the payment operations, stored cards, 洗替 and file payments
# (the permission tests call each of them directly).
CARD_PROCESSING = tuple(page for page in PAGES if page.permission is P.CARD)
