"""Receivers: one module or package per receiver type (see collector/registry.py)."""
