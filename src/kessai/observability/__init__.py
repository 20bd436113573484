"""What an operator watches: Prometheus metrics, request ids and JSON log lines. Nothing here sees a
card number: labels are faces, telegram kinds, codes and institutions; log lines are redacted again
on the way out."""
