"""Background work: expiries and the reconciler (notification delivery comes with issue #4)."""
