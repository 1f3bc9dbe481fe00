"""Records, identifiers and reference data. No database, no screen."""
