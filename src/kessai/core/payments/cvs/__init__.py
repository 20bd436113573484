"""CVS number payments (コンビニ番号方式, payment_type 03): the state table and the commands."""
