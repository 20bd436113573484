"""Kessai (決済): an open-source, PAYGENT-compatible payment gateway for the Japanese market."""

__version__ = "0.1.0"
