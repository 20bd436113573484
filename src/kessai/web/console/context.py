"""What a console page handler gets: the signed-in user, their merchant, the request's inputs, and
a note of what to write in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, QueryParams
from starlette.responses import HTMLResponse

from kessai.core.console.audit import Actor
from kessai.core.console.permissions import PERMISSION_LABELS, Permission
from kessai.core.console.users import UserView
from kessai.core.context import Core, MerchantRef
from kessai.web.console.config import ConsoleConfig
from kessai.web.console.jobs import Jobs
from kessai.web.console.render import page
from kessai.web.console.uploads import Uploads


@dataclass
class AuditNote:
    """Filled in by the handler: what it acted on and how it went (the face writes the entry)."""

    action: str
    target: str = ""
    detail: str = ""
    result: str = "ok"


@dataclass
class Ctx:
    core: Core
    config: ConsoleConfig
    user: UserView
    merchant: MerchantRef
    merchant_name: str
    csrf: str
    token: str
    actor: Actor
    query: QueryParams
    form: FormData | None
    path: Mapping[str, Any]
    secure: bool
    certificate: str | None
    note: AuditNote
    jobs: Jobs
    uploads: Uploads
    extra: dict[str, Any] = field(default_factory=dict)

    def field(self, name: str, default: str = "") -> str:
        """A form field as text ('' for a file or nothing)."""
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return [v for v in self.query.getlist(name) if v]
        return [v for v in self.form.getlist(name) if isinstance(v, str) and v]

    def can(self, permission: Permission) -> bool:
        return self.user.can(permission)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        return page(
            template,
            {
                "user": self.user,
                "merchant_id": self.merchant.id,
                "merchant_name": self.merchant_name,
                "csrf": self.csrf,
                "can": {p.value: self.user.can(p) for p in Permission},
                "permission_labels": PERMISSION_LABELS,
                "sandbox": self.merchant.mode == "sandbox",
                "certificates_off": not self.config.require_certificate,
                **context,
            },
            status_code=status_code,
        )
