"""Pages for buyers: what to do next to pay (CVS instructions first)."""
