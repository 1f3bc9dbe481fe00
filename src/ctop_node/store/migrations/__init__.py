"""Alembic environment and revisions of the record store (run by ctop_node.store.migrate)."""
