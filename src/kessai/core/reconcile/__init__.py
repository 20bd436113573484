"""The merchant's reconciliation (消し込み) of its own order list against its payments, by 取引ID
(docs/user/reconciliation.md): classes.py (the seven classes), orders.py (reading the order CSV),
models.py (the kept reconciliations), run.py (`reconcile`: staging and set-based classification),
views.py (reading a kept one: summary, rows, CSV, history);
receivables.py (売掛金: what the merchant is owed, without any upload)."""
