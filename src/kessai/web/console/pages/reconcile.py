"""消し込み: the merchant uploads its order list and reads how every order and every payment of the
period is classified (`kessai.core.reconcile`).

The steps: the upload (kept server-side, `uploads.py`); when the header's names are not ones
Kessai recognises, a column-mapping form; the run, on a background thread (`jobs.py`) while a
progress page polls (a meta refresh: no script needed); the result — totals per class, a filter,
pages of rows, the classified list as CSV — and the history of past reconciliations, each of which
reopens. Another merchant's reconciliation reads exactly like one that does not exist (404).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response, StreamingResponse

from kessai.core.console import audit
from kessai.core.console.audit import Actor
from kessai.core.context import Core, MerchantRef
from kessai.core.reconcile import views
from kessai.core.reconcile.classes import LABELS, ReconClass
from kessai.core.reconcile.orders import ColumnMap, Sniffed, sniff
from kessai.core.reconcile.run import HEAD, reconcile
from kessai.kit.errors import InvalidRequest, KessaiError, NotFound
from kessai.web.console import forms
from kessai.web.console.context import Ctx
from kessai.web.console.jobs import Progress
from kessai.web.console.uploads import Uploads

HOME = "/console/reconcile"
ENCODINGS = {"cp932": "cp932", "utf-8": "utf-8-sig"}  # the link's name → the CSV's codec
DOWNLOAD_BATCH = 2_000  # rows per chunk of the download
HISTORY_SHOWN = 200  # the newest; each older one still opens by its number


@dataclass(frozen=True)
class Period:
    first: date | None
    last: date | None


def show(ctx: Ctx, *, error: str = "", status_code: int = 200) -> Response:
    """The upload form and the history of the merchant's reconciliations."""
    with ctx.core.sessions() as session:
        past = views.history(session, merchant_id=ctx.merchant.id)
    running = ctx.jobs.running(merchant_id=ctx.merchant.id, user_id=ctx.user.id)
    return ctx.render(
        "reconcile.html",
        status_code=status_code,
        history=past[:HISTORY_SHOWN],
        more=max(0, len(past) - HISTORY_SHOWN),
        running=running,
        error=error,
        form=ctx.form,
    )


def upload(ctx: Ctx) -> Response:
    """The order list arrives: kept server-side, then run at once or mapped first."""
    sent = ctx.form.get("orders") if ctx.form is not None else None
    if not isinstance(sent, UploadFile) or not sent.filename:
        return _refused(ctx, InvalidRequest(message="注文一覧のCSVファイルを選んでください。"))
    file_name = Path(sent.filename.replace("\\", "/")).name[:255]
    ctx.note.detail = file_name
    try:
        period = _period(ctx)
        _one_at_a_time(ctx)
        saved = ctx.uploads.save(ctx.merchant.id, ctx.user.id, sent.file)
    except InvalidRequest as refused:
        return _refused(ctx, refused)
    ctx.note.detail = f"{file_name} {saved.size} bytes"
    try:
        sniffed = _sniff(saved.path)
        if saved.size == 0 or not sniffed.columns:
            raise InvalidRequest(message="ファイルが空です（見出し行がありません）。")
    except InvalidRequest as refused:
        ctx.uploads.remove(saved.path)
        return _refused(ctx, refused)
    if sniffed.guessed is None:
        return _mapping(ctx, saved.token, file_name, period, sniffed)
    return _start(ctx, saved.path, file_name, sniffed.guessed, period)


def map_columns(ctx: Ctx) -> Response:
    """The column-mapping step's answer: the columns chosen, then the run."""
    token, file_name = ctx.field("token"), ctx.field("file_name")[:255]
    path = ctx.uploads.open(ctx.merchant.id, ctx.user.id, token)
    ctx.note.detail = file_name
    sniffed = _sniff(path)
    period = Period(None, None)
    try:
        period = _period(ctx)
        columns = _chosen(ctx, sniffed.columns)
        _one_at_a_time(ctx)
    except InvalidRequest as refused:
        ctx.note.result, ctx.note.detail = "failed", f"{refused.code} {refused.message}"
        return _mapping(ctx, token, file_name, period, sniffed, error=refused.message)
    return _start(ctx, path, file_name, columns, period)


def progress(ctx: Ctx) -> Response:
    """The run's progress (rows read), refreshed every two seconds; its result when done."""
    job = ctx.jobs.find(str(ctx.path["job_id"]), merchant_id=ctx.merchant.id, user_id=ctx.user.id)
    if job is None:
        raise NotFound(
            message="指定された消し込みの処理は見つかりません。"
            "終わった消し込みは「消し込み」の履歴から開けます。"
        )
    ctx.note.target = f"job:{job.id}"
    if job.result_id is not None:
        return RedirectResponse(f"{HOME}/{job.result_id}", status_code=303)
    return ctx.render("reconcile_progress.html", job=job)


def result(ctx: Ctx) -> Response:
    """A reconciliation: its totals per class, then a page of its rows (one class, or all)."""
    reconciliation_id = _path_id(ctx)
    cls = _class(ctx.query.get("cls", ""))
    paging = forms.paging(ctx.query)
    with ctx.core.sessions() as session:
        summary = views.summary(
            session, merchant_id=ctx.merchant.id, reconciliation_id=reconciliation_id
        )
        shown = views.rows(
            session,
            merchant_id=ctx.merchant.id,
            reconciliation_id=reconciliation_id,
            cls=cls,
            offset=paging.offset,
            limit=paging.per_page,
        )
    count = summary.totals[cls].count if cls else sum(t.count for t in summary.totals.values())
    return ctx.render(
        "reconcile_result.html",
        s=summary,
        rows=shown,
        cls=cls,
        classes=list(ReconClass),
        labels=LABELS,
        count=count,
        page=paging.page,
        per_page=paging.per_page,
        page_sizes=forms.PAGE_SIZES,
        first=paging.offset + 1,
        last_page=max(1, -(-count // paging.per_page)),
    )


def download(ctx: Ctx) -> Response:
    """The classified list (one class, or all) as CSV: CP932 (Excel) or UTF-8 with a BOM, streamed
    as it is read (`views.write_csv` per batch of rows): the first bytes leave at once and memory
    stays that of one batch, whatever the size."""
    reconciliation_id = _path_id(ctx)
    cls = _class(ctx.query.get("cls", ""))
    name = ctx.query.get("encoding", "cp932")
    name = name if name in ENCODINGS else "cp932"
    ctx.note.detail = f"{name} {cls or 'all'}"
    core, merchant_id, codec = ctx.core, ctx.merchant.id, ENCODINGS[name]
    with core.sessions() as session:  # another merchant's: 404 before any byte is sent
        views.summary(session, merchant_id=merchant_id, reconciliation_id=reconciliation_id)

    def body() -> Iterator[bytes]:
        header = _csv([], codec)
        yield header
        with core.sessions() as session:
            found = views.iter_rows(
                session, merchant_id=merchant_id, reconciliation_id=reconciliation_id, cls=cls
            )
            while batch := list(islice(found, DOWNLOAD_BATCH)):
                yield _csv(batch, codec)[len(header) :]

    charset = "shift_jis" if name == "cp932" else "utf-8"
    filename = f"reconcile_{reconciliation_id}_{cls or 'all'}_{name}.csv"
    return StreamingResponse(
        body(),
        media_type=f"text/csv; charset={charset}",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def _csv(rows: list[views.ReconRow], codec: str) -> bytes:
    """`rows` as `views.write_csv` writes them, its header (and BOM) first."""
    out = io.BytesIO()
    views.write_csv(rows, out, codec)
    return out.getvalue()


# ---------------------------------------------------------------- the run


def _start(ctx: Ctx, path: Path, file_name: str, columns: ColumnMap, period: Period) -> Response:
    run = _Run(ctx.core, ctx.merchant, ctx.actor, ctx.uploads, path, file_name, columns, period)
    job = ctx.jobs.start(
        merchant_id=ctx.merchant.id, user_id=ctx.user.id, file_name=file_name, work=run
    )
    ctx.note.target = f"job:{job.id}"
    return RedirectResponse(f"{HOME}/jobs/{job.id}", status_code=303)


@dataclass(frozen=True)
class _Run:
    """One reconciliation on a background thread: its own transaction, its own audit entry, and
    the uploaded file removed whatever happens."""

    core: Core
    merchant: MerchantRef
    actor: Actor
    uploads: Uploads
    path: Path
    file_name: str
    columns: ColumnMap
    period: Period

    def __call__(self, progress: Progress) -> int:
        try:
            with self.path.open("rb") as source, self.core.sessions.begin() as session:
                reconciliation_id = reconcile(
                    session,
                    merchant_id=self.merchant.id,
                    source=source,
                    file_name=self.file_name,
                    columns=self.columns,
                    period_from=self.period.first,
                    period_to=self.period.last,
                    created_by=self.actor.login,
                    progress=progress,
                    now=self.core.now_for(self.merchant),
                )
        except KessaiError as error:
            self._record("failed", "", f"{error.code} {error.message}")
            raise
        finally:
            self.uploads.remove(self.path)
        self._record("ok", f"reconciliation:{reconciliation_id}", self.file_name)
        return reconciliation_id

    def _record(self, result: str, target: str, detail: str) -> None:
        with self.core.sessions.begin() as session:
            audit.record(
                session,
                self.actor,
                "reconcile_run",
                result=result,
                target=target,
                detail=detail[:512],
                now=self.core.clock.now(),
            )


# ---------------------------------------------------------------- reading the forms


def _period(ctx: Ctx) -> Period:
    first = forms.day(ctx.field("period_from"), "対象期間")
    last = forms.day(ctx.field("period_to"), "対象期間")
    if first and last and first > last:
        raise InvalidRequest(message="対象期間の開始日が終了日より後になっています。")
    return Period(first, last)


def _chosen(ctx: Ctx, columns: list[str]) -> ColumnMap:
    """The columns picked on the mapping form: each one of the file's, 取引ID and amount apart."""
    picked = {
        name: ctx.field(name) or None
        for name in ("trading_id", "amount", "expected_date", "method")
    }
    for name, value in picked.items():
        if value is not None and value not in columns:
            raise InvalidRequest(message=f"{_FIELD_LABELS[name]}の列がファイルにありません。")
    trading_id, amount = picked["trading_id"], picked["amount"]
    if trading_id is None or amount is None:
        raise InvalidRequest(message="取引IDの列と金額の列を選んでください。")
    chosen = [v for v in picked.values() if v is not None]
    if len(set(chosen)) != len(chosen):
        raise InvalidRequest(message="同じ列を二つの項目に選ぶことはできません。")
    return ColumnMap(trading_id, amount, picked["expected_date"], picked["method"])


_FIELD_LABELS = {
    "trading_id": "取引ID",
    "amount": "金額",
    "expected_date": "入金予定日",
    "method": "決済方法",
}


def _one_at_a_time(ctx: Ctx) -> None:
    if ctx.jobs.running(merchant_id=ctx.merchant.id, user_id=ctx.user.id) is not None:
        raise InvalidRequest(
            message="実行中の消し込みがあります。終わってからもう一度実行してください。"
        )


def _class(value: str) -> ReconClass | None:
    try:
        return ReconClass(value)
    except ValueError:
        return None  # every class


def _path_id(ctx: Ctx) -> int:
    reconciliation_id = int(ctx.path["reconciliation_id"])
    ctx.note.target = f"reconciliation:{reconciliation_id}"
    if not 0 < reconciliation_id <= forms.MAX_ID:
        raise NotFound(message="指定された消し込み結果はありません。")
    return reconciliation_id


def _sniff(path: Path) -> Sniffed:
    with path.open("rb") as source:
        return sniff(source.read(HEAD))


def _mapping(
    ctx: Ctx,
    token: str,
    file_name: str,
    period: Period,
    sniffed: Sniffed,
    *,
    error: str = "",
) -> Response:
    return ctx.render(
        "reconcile_columns.html",
        status_code=400 if error else 200,
        token=token,
        file_name=file_name,
        period=period,
        columns=sniffed.columns,
        sample=sniffed.sample,
        encoding=sniffed.encoding,
        picked={name: ctx.field(name) for name in _FIELD_LABELS},
        field_labels=_FIELD_LABELS,
        error=error,
    )


def _refused(ctx: Ctx, refused: InvalidRequest) -> Response:
    ctx.note.result, ctx.note.detail = "failed", f"{refused.code} {refused.message}"
    return show(ctx, error=refused.message, status_code=400)
