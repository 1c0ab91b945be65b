from __future__ import annotations

from aiohttp import web

from collector.component import ComponentContext, ComponentError, Exporter
from collector.config import split_endpoint
from collector.model import Data, MetricBatch
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.store import MetricStore
from exporters.prometheus.text import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, render


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
        openmetrics = "application/openmetrics-text" in request.headers.get("Accept", "")
        self.store.expire()
        extra = [self.ctx.telemetry.collect()] if self.config.self_telemetry else []
        body = render(self.store, extra, openmetrics)
        content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
        return web.Response(body=body.encode(), headers={"Content-Type": content_type})

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
