"""Processors: one module or package per processor type (see collector/registry.py)."""
