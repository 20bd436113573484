"""The PAYGENT module-type face: Windows-31J form telegrams in, CRLF `name=value` lines out."""
