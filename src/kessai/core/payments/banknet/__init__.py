"""Bank net payments (銀行ネット決済, payment_type 05): the state table, the application, the buyer's
bank choices and the bank's clearing."""
