"""The faces of Kessai: module (PAYGENT module telegrams), link (hosted page), console and api."""
