"""Alembic revisions, oldest first: ``<rev>_<slug>.py``, each with a downgrade."""
