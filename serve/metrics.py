"""Prometheus metrics of one gateway (its own registry, so several apps can share a process).

HTTP requests are counted and timed by prometheus-fastapi-instrumentator's middleware (route
template, status, until a stream's last byte); the rest are counted where they happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    request_timeout_s: float = 120.0  # the latency buckets reach it: a CPU answer takes tens of seconds

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("medassist_requests", "Requests by route and status", ["route", "status"],
                                registry=r)
        buckets = tuple(b for b in LATENCY_BUCKETS if b < self.request_timeout_s) + (self.request_timeout_s,)
        self.latency = Histogram("medassist_request_seconds", "Request latency", ["route"], registry=r,
                                 buckets=buckets)
        self.ttft = Histogram("medassist_time_to_first_token_seconds", "Time to first model token", registry=r,
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.prompt_tokens = Counter("medassist_prompt_tokens", "Prompt tokens", registry=r)
        self.completion_tokens = Counter("medassist_completion_tokens", "Generated tokens", registry=r)
        self.in_flight = Gauge("medassist_requests_in_flight", "Generation requests being served", registry=r)
        self.rejected = Counter("medassist_rejected", "Requests refused by a limit", ["limit"], registry=r)
        self.red_flags = Counter("medassist_red_flags", "Emergency escalations by red flag", ["flag"], registry=r)
        self.citations_removed = Counter(
            "medassist_citations_removed", "Cited PMIDs removed because they were not retrieved", registry=r)
        self.retrieval = Histogram("medassist_retrieval_seconds", "Retrieval latency", registry=r)
        self.engine_up = Gauge("medassist_engine_up", "1 while the model engine can answer, else 0", registry=r)
        self.engine_restarts = Gauge("medassist_engine_restarts", "Engine restarts since the gateway started",
                                     registry=r)

    def instrument(self, app: FastAPI) -> None:
        """Count and time every HTTP response of ``app``, refused ones included. The series keep
        their names and labels (``route``, ``status``); a path no route matches is ``none``."""

        def record(info: Info) -> None:
            self.requests.labels(info.modified_handler, info.modified_status).inc()
            self.latency.labels(info.modified_handler).observe(info.modified_duration)

        Instrumentator(should_group_status_codes=False, registry=self.registry).add(record).instrument(app)
