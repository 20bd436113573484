"""CVS payment slips (コンビニ払込票, payment_type 04): the state table and the commands."""
