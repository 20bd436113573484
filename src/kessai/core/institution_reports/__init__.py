"""The operator's reconciliation with institutions (入金照合): each institution's settlement report
(精算明細) is matched to the ledger's receivables, the money received is booked, and what does not
match is kept as a break until an operator resolves it (docs/operator/money.md, "Institution
reports and breaks").

`institutions` names the institutions and the methods each one collects, `models` keeps the reports,
their lines and the breaks, `matching` imports a report (one transaction), `owed` says what an
institution owes for a day (the sandbox writes its report from it), `breaks` lists and resolves
breaks, `views` reads a payment's settlement for the console.
"""
