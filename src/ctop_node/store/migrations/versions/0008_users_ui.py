"""Officers' UI: users, their API tokens and web sessions; the arrival view's record index and
search terms, caught up incrementally from ``records``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (see 0001).
Timestamp = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sa.CheckConstraint(
            "role IN ('arrival_officer', 'departure_officer', 'supervisor', 'analyst', "
            "'auditor', 'admin')",
            name=op.f("ck_users_role"),
        ),
    )
    op.create_table(
        "user_tokens",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_tokens_token_hash")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_table(
        "record_index",
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("train_key", sa.String(160), nullable=False),
        sa.Column("train_number", sa.String(64), nullable=False),
        sa.Column("crossing_point", sa.String(64), nullable=False),
        sa.Column("planned_crossing_at", Timestamp, nullable=False),
        sa.Column("declaration_number", sa.String(64), nullable=False),
        sa.Column("consignee", sa.String(512), nullable=False),
        sa.Column("containers", sa.Integer(), nullable=False),
        sa.Column("wagons", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("origin_party", "record_id", name=op.f("pk_record_index")),
    )
    op.create_index(
        op.f("ix_record_index_direction_crossing_point_planned_crossing_at"),
        "record_index",
        ["direction", "crossing_point", "planned_crossing_at"],
    )
    op.create_index(op.f("ix_record_index_train_key"), "record_index", ["train_key"])
    op.create_table(
        "search_terms",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin_party", sa.String(8), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_terms")),
    )
    op.create_index(
        op.f("ix_search_terms_value"),
        "search_terms",
        ["value"],
        postgresql_ops={"value": "varchar_pattern_ops"},
    )
    op.create_index(
        op.f("ix_search_terms_origin_party_record_id"),
        "search_terms",
        ["origin_party", "record_id"],
    )
    op.create_table(
        "index_progress",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_record_pk", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_index_progress")),
    )


def downgrade() -> None:
    op.drop_table("index_progress")
    op.drop_index(op.f("ix_search_terms_origin_party_record_id"), table_name="search_terms")
    op.drop_index(op.f("ix_search_terms_value"), table_name="search_terms")
    op.drop_table("search_terms")
    op.drop_index(op.f("ix_record_index_train_key"), table_name="record_index")
    op.drop_index(
        op.f("ix_record_index_direction_crossing_point_planned_crossing_at"),
        table_name="record_index",
    )
    op.drop_table("record_index")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("user_tokens")
    op.drop_table("users")
