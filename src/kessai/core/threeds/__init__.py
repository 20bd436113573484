"""EMV 3-D Secure 2 authentications (telegram 450 and the hosted page's card step)."""
