"""Connectors: how the core reaches payment institutions. `base` is the only module the core imports."""
