"""ATM / Pay-easy payments (ペイジー, payment_type 01): the state table and the commands."""
