"""The faces of Kessai: legacy (PAYGENT module telegrams), link (hosted page), console and api."""
