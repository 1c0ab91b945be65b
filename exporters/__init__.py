"""Exporters: one module or package per exporter type (see collector/registry.py)."""
