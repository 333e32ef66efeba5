"""Backups: one row per backup of a volume (its data lives in the backup repository).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("volume_id", sa.String(36), nullable=False, index=True),
        sa.Column("snapshot_id", sa.String(36)),
        sa.Column("parent_id", sa.String(36), index=True),
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("fail_reason", sa.Text()),
        sa.Column("availability_zone", sa.String(255)),
        sa.Column("container", sa.String(255)),
        sa.Column("host", sa.String(255)),
        sa.Column("service", sa.String(255)),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("data_timestamp", sa.DateTime()),
        sa.Column("restore_volume_id", sa.String(36)),
        sa.Column("temp_snapshot_path", sa.String(1024)),
        sa.Column("progress", sa.JSON()),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )


def downgrade() -> None:
    op.drop_table("backups")
