"""The dashboard: today's and this month's totals per method and the daily amounts of the last 30
days, drawn as a plain SVG bar chart by the server (no script, nothing from elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.responses import Response

from kessai.core.payments import queries
from kessai.core.payments.queries import DailyAmount, Period
from kessai.kit.clock import JST
from kessai.web.console.context import Ctx

CHART_DAYS = 30
CHART_HEIGHT = 160
BAR_WIDTH = 18


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    height: int
    paid_height: int
    label: str
    amount: int
    paid_amount: int


def show(ctx: Ctx) -> Response:
    today = ctx.core.now_for(ctx.merchant).astimezone(JST).date()
    month_start = today.replace(day=1)
    first_day = today - timedelta(days=CHART_DAYS - 1)
    with ctx.core.sessions() as session:
        today_totals = queries.totals_by_method(
            session, ctx.merchant.id, Period.of_days(today, today)
        )
        month_totals = queries.totals_by_method(
            session, ctx.merchant.id, Period.of_days(month_start, today)
        )
        days = queries.daily_amounts(session, ctx.merchant.id, first_day, today)
    return ctx.render(
        "dashboard.html",
        today=today,
        today_totals=today_totals,
        month_totals=month_totals,
        bars=_bars(days),
        chart_height=CHART_HEIGHT,
        chart_width=CHART_DAYS * (BAR_WIDTH + 4) + 8,
        bar_width=BAR_WIDTH,
        peak=max((d.amount for d in days), default=0),
    )


def _bars(days: list[DailyAmount]) -> list[Bar]:
    peak = max((d.amount for d in days), default=0) or 1
    return [
        Bar(
            x=4 + n * (BAR_WIDTH + 4),
            height=round(d.amount * CHART_HEIGHT / peak),
            paid_height=round(d.paid_amount * CHART_HEIGHT / peak),
            label=d.day.strftime("%m/%d"),
            amount=d.amount,
            paid_amount=d.paid_amount,
        )
        for n, d in enumerate(days)
    ]
