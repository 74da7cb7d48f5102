"""Abbanoa water-network monitoring platform: the shared domain package."""

__version__ = "0.1.0"
