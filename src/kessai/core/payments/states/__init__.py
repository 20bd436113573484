"""Per-method state machines, written as data (PAYGENT status codes of paygent-protocol.md §3)."""
