"""Reproducible systematic review toolkit: sheets -> effect sizes -> pooled results -> figures -> review."""

__version__ = "0.1.0"
