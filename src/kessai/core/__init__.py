"""The one payment core. No HTTP here."""
