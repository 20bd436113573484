"""The merchant's logo on the hosted payment page (決済画面のロゴ): shown, replaced or removed by
the merchant's administrators. The upload is checked by the core (raster images only, 256 KB)."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import Response

from kessai.core.console.permissions import Role
from kessai.core.link import logo
from kessai.kit.errors import AuthError, InvalidRequest
from kessai.web.console.context import Ctx


def _admin_only(ctx: Ctx) -> None:
    if ctx.user.role is not Role.ADMIN:
        raise AuthError(message="ロゴの設定は管理者のみ行えます。")


def show(ctx: Ctx, *, message: str = "", error: str = "", status_code: int = 200) -> Response:
    _admin_only(ctx)
    version = logo.logo_version(ctx.core, ctx.merchant.id)
    return ctx.render(
        "logo.html",
        status_code=status_code,
        logo_url=f"/link/logo/{ctx.merchant.id}?v={version}" if version else "",
        max_kb=logo.MAX_BYTES // 1024,
        message=message,
        error=error,
    )


def upload(ctx: Ctx) -> Response:
    _admin_only(ctx)
    sent = ctx.form.get("logo") if ctx.form is not None else None
    data = sent.file.read(logo.MAX_BYTES + 1) if isinstance(sent, UploadFile) else b""
    try:
        stored = logo.set_logo(ctx.core, ctx.merchant.id, data)
    except InvalidRequest as refused:
        ctx.note.result, ctx.note.detail = "failed", f"{refused.code} {refused.message}"
        return show(ctx, error=refused.message, status_code=400)
    ctx.note.target = f"logo:{stored.sha256[:16]}"
    ctx.note.detail = f"{stored.content_type} {len(stored.data)} bytes"
    return show(ctx, message="ロゴを設定しました。")


def remove(ctx: Ctx) -> Response:
    _admin_only(ctx)
    removed = logo.remove_logo(ctx.core, ctx.merchant.id)
    ctx.note.detail = "removed" if removed else "no logo"
    return show(ctx, message="ロゴを削除しました。" if removed else "ロゴは設定されていません。")
