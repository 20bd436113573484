"""A card acquirer simulator speaking its own JSON wire format (see `app`)."""

from kessai.simulators.acquirer.app import create_app

__all__ = ["create_app"]
