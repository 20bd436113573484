"""ファイル決済 in the console: upload a file of card requests (the same CSV as telegram 200), watch
it run (lines done of total, the rate, errors so far), cancel it while it runs, download its result
(the 201 result file), and the list of the merchant's past files. Card processing permission.

Every step is one of `core.files`' commands — `submit`, `cancel`, `result_file` — so a file sent
here and one sent by telegram are the same thing; the worker runs both. A malformed file is refused
as a whole with its line-numbered reason and nothing is stored. Another merchant's file reads
exactly like one that does not exist (404).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from kessai.core.files import commands, views
from kessai.core.files.result import result_file
from kessai.kit.errors import InvalidRequest, InvalidState, KessaiError, NotFound
from kessai.web.console.context import Ctx

HOME = "/console/files"
# The same limit as telegram 200 (the module face's 10 MB request).
MAX_BYTES = 10 * 1024 * 1024
HISTORY_SHOWN = 200  # the newest; an older one still opens by its receipt id
_RECEIPT_ID = re.compile(r"^[1-9][0-9]{8}$")

# File type → what its lines are (the module face decides which of them it runs: see `offered`).
FILE_TYPE_LABELS: dict[str, str] = {
    "020": "オーソリ",
    "021": "売上",
    "022": "取消（オーソリ取消・売上取消）",
    "028": "補正オーソリ",
    "029": "補正売上",
    "026": "カード情報登録",
    "116": "カード情報更新",
    "027": "カード情報削除",
    "024": "カード情報洗替",
}
STATUS_LABELS: dict[str, str] = {
    "queued": "受付済（順番待ち）",
    "running": "処理中",
    "done": "完了",
    "cancelled": "取消済",
}


def list_files(ctx: Ctx, *, error: str = "", status_code: int = 200) -> Response:
    """The upload form and the merchant's files, newest first."""
    files, total = views.history(ctx.core, ctx.merchant, limit=HISTORY_SHOWN)
    return ctx.render(
        "files.html",
        status_code=status_code,
        files=files,
        more=max(0, total - len(files)),
        file_types=offered(ctx),
        type_labels=FILE_TYPE_LABELS,
        status_labels=STATUS_LABELS,
        error=error,
        chosen=ctx.field("file_type"),
        duplicate_check=ctx.field("duplicate_check") == "1",
    )


def offered(ctx: Ctx) -> dict[str, str]:
    """The file types Kessai runs (those whose layout the file path knows)."""
    shown = {}
    for code, label in FILE_TYPE_LABELS.items():
        try:
            commands.layout_of(ctx.core, code)
        except KessaiError:
            continue
        shown[code] = label
    return shown


def upload(ctx: Ctx) -> Response:
    """A file arrives: checked as a whole and stored (200's `submit`), then its progress page."""
    file_type = ctx.field("file_type")
    try:
        data, name = _uploaded(ctx)
        ctx.note.detail = f"{name} type={file_type} {len(data)} bytes"
        receipt_id = commands.submit(
            ctx.core,
            ctx.merchant,
            file_type,
            data,
            duplicate_check=ctx.field("duplicate_check") == "1",
        )
    except KessaiError as refused:
        ctx.note.result = "failed"
        ctx.note.detail = f"{ctx.note.detail} {refused.code} {refused.message}"[:512]
        return list_files(ctx, error=refused.message, status_code=400)
    ctx.note.target = f"file:{receipt_id}"
    return RedirectResponse(f"{HOME}/{receipt_id}", status_code=303)


def _uploaded(ctx: Ctx) -> tuple[bytes, str]:
    """The uploaded file's bytes (at most MAX_BYTES) and its name as the user's machine had it."""
    sent = ctx.form.get("file") if ctx.form is not None else None
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise InvalidRequest(message="ファイル決済のCSVファイルを選んでください。")
    if ctx.field("file_type") not in FILE_TYPE_LABELS:
        raise InvalidRequest(message="ファイル種別を選んでください。")
    data = sent.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidRequest(
            message=f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MBまで）。"
        )
    return data, Path(sent.filename.replace("\\", "/")).name[:255]


def detail(ctx: Ctx, *, error: str = "", status_code: int = 200) -> Response:
    """One file: its status and counts while it runs (the page keeps itself current), the cancel
    button while it has lines left, the result file once it is finished."""
    found = views.progress(ctx.core, ctx.merchant, _receipt_id(ctx))
    return ctx.render(
        "file.html",
        status_code=status_code,
        f=found,
        v=found.view,
        type_labels=FILE_TYPE_LABELS,
        status_labels=STATUS_LABELS,
        error=error,
    )


def progress_json(ctx: Ctx) -> Response:
    """The same counts as JSON, for the detail page's script to poll."""
    found = views.progress(ctx.core, ctx.merchant, _receipt_id(ctx))
    answer = {**found.as_json(), "status_label": STATUS_LABELS.get(found.view.status, "")}
    return JSONResponse(answer, headers={"cache-control": "no-store"})


def cancel(ctx: Ctx) -> Response:
    """Cancel the file: lines not yet run are never run (a line already running finishes)."""
    receipt_id = _receipt_id(ctx)
    try:
        view = commands.cancel(ctx.core, ctx.merchant, receipt_id)
    except InvalidState:
        ctx.note.result, ctx.note.detail = "failed", "already finished"
        return detail(
            ctx, error="このファイルは処理が終わっているため取り消せません。", status_code=409
        )
    ctx.note.detail = f"cancelled; {view.done_lines}/{view.total_lines} lines had run"
    return RedirectResponse(f"{HOME}/{receipt_id}", status_code=303)


def download(ctx: Ctx) -> Response:
    """The result file, exactly as 201 answers it (Windows-31J CSV); 409 while the file runs."""
    receipt_id = _receipt_id(ctx)
    try:
        body = result_file(ctx.core, ctx.merchant, receipt_id)
    except KessaiError as error:
        if error.code != "9103":
            raise
        raise InvalidState(
            message="ファイルの処理が終わってから結果をダウンロードできます。"
        ) from None
    return Response(
        body,
        media_type="text/csv; charset=shift_jis",
        headers={"content-disposition": f'attachment; filename="file_{receipt_id}_result.csv"'},
    )


def _receipt_id(ctx: Ctx) -> str:
    """The path's file_receipt_id; anything but nine digits is no file of anyone's (404)."""
    receipt_id = str(ctx.path["receipt_id"])
    ctx.note.target = f"file:{receipt_id[:16]}"
    if not _RECEIPT_ID.match(receipt_id):
        raise NotFound("9104", field="file_receipt_id")
    return receipt_id
