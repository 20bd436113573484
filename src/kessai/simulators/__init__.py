"""The institutions themselves, as small ASGI apps with a control API: "other companies" that the
real connector clients reach over loopback HTTP. They import only `kit` (and the acquirer the
sandbox card rules, so both answer alike)."""
