"""The connector to the card acquirer simulator: `client` (HTTP) and `mapping` (pure)."""

from kessai.connectors.acquirer_sim.client import SimAcquirer

__all__ = ["SimAcquirer"]
