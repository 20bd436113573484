"""Prometheus metrics (`GET /metrics`), one registry per app (no global state).

Requests and latency per face and telegram kind, PAYGENT result codes, institution call latency and
outcomes, and, read from the database at each scrape, the notice backlog, the age of the oldest
undelivered notice, and the worker's lag (how overdue the oldest due notice is; operations left
unsettled for the reconciler).

With several server processes on one port (`kessai serve --workers N`) a scrape reaches any one of
them, so `kessai serve` sets PROMETHEUS_MULTIPROC_DIR and each process writes its counters there;
a scrape then adds up every process's (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from kessai.core.context import Core
from kessai.core.notifications.models import Notice
from kessai.core.payments.models import PaymentOperation

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    database: list[Collector] = field(default_factory=list)

    def watch(self, collector: Collector) -> None:
        """A collector read at scrape time, once, whichever process is scraped."""
        self.database.append(collector)
        self.registry.register(collector)

    def exposition(self) -> bytes:
        """The Prometheus text of this process, or of every process in multiprocess mode."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        for collector in self.database:
            combined.register(collector)
        return generate_latest(combined)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "kessai_http_requests",
            "HTTP requests answered, by face, telegram kind and HTTP status",
            ["face", "telegram_kind", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kessai_http_request_duration_seconds",
            "Time to answer a request, by face and telegram kind",
            ["face", "telegram_kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.results = Counter(
            "kessai_telegram_results",
            "Telegram answers by kind and result code (response_code; empty: success)",
            ["telegram_kind", "response_code"],
            registry=self.registry,
        )
        self.institution_calls = Histogram(
            "kessai_institution_call_duration_seconds",
            "Calls to acquirers and other institutions, by institution, operation and outcome",
            ["institution", "operation", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )


def instrumented(connector: Any, institution: str, metrics: Metrics) -> Any:
    """The connector with every public call timed; the outcome is the result's `outcome` (the five
    connector outcomes) or `ok`, or the exception's class name."""
    return _Instrumented(connector, institution, metrics)


class _Instrumented:
    def __init__(self, inner: Any, institution: str, metrics: Metrics) -> None:
        self._inner = inner
        self._institution = institution
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value
        return self._timed(name, value)

    def _timed(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "error"
            try:
                result = call(*args, **kwargs)
                outcome = str(getattr(result, "outcome", "ok"))
                return result
            except Exception as error:
                outcome = type(error).__name__
                raise
            finally:
                self._metrics.institution_calls.labels(
                    self._institution, operation, outcome
                ).observe(time.perf_counter() - started)

        return timed


class BacklogCollector(Collector):
    """The state of the work queues, read at scrape time (a few indexed aggregates)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def collect(self) -> Iterator[Metric]:
        now = self._core.clock.now()
        with self._core.sessions() as session:
            by_status = dict(
                session.execute(
                    select(Notice.delivery_status, func.count()).group_by(Notice.delivery_status)
                ).all()
            )
            undelivered = Notice.delivery_status.in_(("pending", "delivering"))
            oldest = session.scalar(select(func.min(Notice.created_at)).where(undelivered))
            overdue = session.scalar(
                select(func.min(Notice.next_attempt_at)).where(
                    Notice.delivery_status == "pending", Notice.next_attempt_at <= now
                )
            )
            unsettled = session.execute(
                select(func.count(), func.min(PaymentOperation.created_at)).where(
                    PaymentOperation.status.in_(("sending", "unknown"))
                )
            ).one()
        backlog = GaugeMetricFamily(
            "kessai_notices", "Notices by delivery status", labels=["delivery_status"]
        )
        for status in ("pending", "delivering", "delivered", "failed", "skipped"):
            backlog.add_metric([status], float(by_status.get(status, 0)))
        yield backlog
        yield _age("kessai_oldest_undelivered_notice_age_seconds",
                   "Age of the oldest notice not yet delivered (0: none)", oldest, now)  # fmt: skip
        yield _age("kessai_notice_delivery_lag_seconds",
                   "How overdue the oldest due notice is: the delivery worker's lag", overdue, now)  # fmt: skip
        yield GaugeMetricFamily("kessai_unsettled_operations",
                                "Institution operations still sending or unknown (for the reconciler)",
                                value=float(unsettled[0]))  # fmt: skip
        yield _age("kessai_oldest_unsettled_operation_age_seconds",
                   "Age of the oldest operation the reconciler has not settled", unsettled[1], now)  # fmt: skip


def _age(name: str, documentation: str, since: Any, now: Any) -> GaugeMetricFamily:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    seconds = max(0.0, (now - since).total_seconds()) if since is not None else 0.0
    return GaugeMetricFamily(name, documentation, value=seconds)
