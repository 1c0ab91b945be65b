"""`ebpf-collector run | validate | components`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from collector import __version__
from collector.component import ComponentError
from collector.config import CollectorConfig, ConfigError, load_config_file
from collector.registry import default_registry
from collector.service import Service

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
EXIT_CONFIG = 2
EXIT_START = 1

log = logging.getLogger("ebpf_collector")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ebpf-collector", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run pipelines (the embedded default pipeline without -c)")
    run.add_argument("-c", "--config", type=Path, help="pipeline YAML")
    val = sub.add_parser("validate", help="check a pipeline YAML without loading any BPF")
    val.add_argument("-c", "--config", type=Path, required=True)
    sub.add_parser("components", help="list every receiver, processor and exporter type")
    args = parser.parse_args(argv)

    if args.command == "components":
        return _components()
    path: Path = args.config or DEFAULT_CONFIG
    try:
        config = load_config_file(path)
    except ConfigError as exc:
        print(f"error: invalid config {path}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "validate":
        print(f"{path}: valid ({_summary(config)})")
        return 0
    _setup_logging(config.telemetry.logs.level)
    log.info("ebpf-collector %s starting with %s (%s)", __version__, path, _summary(config))
    return asyncio.run(_run(config))


def _summary(config: CollectorConfig) -> str:
    return ", ".join(
        f"{p.name}: {' '.join(map(str, p.receivers))} -> {' '.join(map(str, p.exporters))}" for p in config.pipelines
    )


def _components() -> int:
    for kind, title in (("receiver", "receivers"), ("processor", "processors"), ("exporter", "exporters")):
        print(f"{title}:")
        for type_ in default_registry.types(kind):  # type: ignore[arg-type]
            factory = default_registry.get(kind, type_)  # type: ignore[arg-type]
            signals = ",".join(sorted(factory.signals))
            print(f"  {type_:<24} {factory.description} [{signals}]")
    return 0


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper().replace("WARN", "WARNING").replace("WARNINGING", "WARNING")),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


async def _run(config: CollectorConfig) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s: shutting down (send again to exit at once)", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    service = Service(config)
    try:
        await service.start()
    except ComponentError as exc:
        print(f"error: cannot start: {exc}", file=sys.stderr)
        return EXIT_START
    log.info("running; Ctrl-C or SIGTERM to stop")
    await stop.wait()
    await service.shutdown()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
