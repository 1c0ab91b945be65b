"""`python -m bench`: run every benchmark module in this package."""

from __future__ import annotations

import importlib
import pkgutil

import bench

for module in pkgutil.iter_modules(bench.__path__):
    if not module.name.startswith("_"):
        print(f"== bench.{module.name}")
        importlib.import_module(f"bench.{module.name}").main()
