from __future__ import annotations

from aiohttp import web

from collector.component import ComponentContext, ComponentError, Exporter
from collector.config import split_endpoint
from collector.model import Data, MetricBatch
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.store import MetricStore
from exporters.prometheus.text import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, render


def wants_openmetrics(accept: str) -> bool:
    """Content negotiation: OpenMetrics when the client ranks it above the text format
    (by `q`, then by order), as Prometheus' own Accept header does."""
    best: tuple[float, int, bool] = (0.0, 0, False)
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media == "application/openmetrics-text":
            candidate = (q, -position, True)
        elif media in ("text/plain", "text/*", "*/*"):
            candidate = (q, -position, False)
        else:
            continue
        if q > 0 and candidate[:2] > best[:2]:
            best = candidate
    return best[2]


class PrometheusExporter(Exporter[PrometheusConfig]):
    """A pull endpoint: keeps the latest value of every series and renders on scrape."""

    def __init__(self, config: PrometheusConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.store = MetricStore(config.metric_expiration, config.resource_to_telemetry_conversion)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the bound port (useful with port 0)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.config.path, self._scrape)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, port = split_endpoint(self.config.endpoint)
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ComponentError(f"cannot listen on {self.config.endpoint}: {exc.strerror}") from exc
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        self.log.info("serving metrics on http://%s:%d%s", host, self.port, self.config.path)

    async def export(self, data: Data) -> None:
        if isinstance(data, MetricBatch):
            self.store.update(data.metrics, data.resource)

    async def _scrape(self, request: web.Request) -> web.Response:
        openmetrics = self.config.enable_open_metrics and wants_openmetrics(request.headers.get("Accept", ""))
        self.store.expire()
        extra = [self.ctx.telemetry.collect()] if self.config.self_telemetry else []
        body = render(self.store, extra, openmetrics)
        content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
        return web.Response(body=body.encode(), headers={"Content-Type": content_type})

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
