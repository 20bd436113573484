"""Card payments (クレジットカード決済, payment_type 02): the state table, the commands, amount corrections."""
