"""PAYGENT's sandbox card stub: `rules` (pure, the §4 magic digits) and `SandboxAcquirer`."""

from kessai.connectors.sandbox.connector import SandboxAcquirer

__all__ = ["SandboxAcquirer"]
