"""The console's page table entry: a path, its handler, and the permission and audit name it carries.

Kept apart from the face so that the pages (which list themselves) and the face (which mounts them)
both import it and neither imports the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from kessai.core.console.permissions import Permission
from kessai.web.console.context import Ctx

Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Page:
    path: str
    handler: Handler
    permission: Permission | None  # None: any signed-in user
    action: str  # the audit log's name for it
    methods: tuple[str, ...] = ("GET",)
    files: int = 0  # uploaded files the form may carry (multipart)
