"""The link-type face: signed requests (/v/request…) and the hosted payment page (/link/…)."""
