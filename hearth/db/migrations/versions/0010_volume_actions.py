"""Volume and snapshot actions: a volume's read-only flag and its migration journal, a
snapshot's progress as ``os-update_snapshot_status`` reports it.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("readonly", sa.Boolean()))
        batch.add_column(sa.Column("migration_status", sa.String(32)))
        batch.add_column(sa.Column("migration_host", sa.String(255)))
        batch.add_column(sa.Column("migration_type_id", sa.String(36)))
        batch.add_column(sa.Column("migration_return_status", sa.String(32)))
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(sa.Column("progress", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("progress")
    with op.batch_alter_table("volumes") as batch:
        for name in (
            "migration_return_status",
            "migration_type_id",
            "migration_host",
            "migration_status",
            "readonly",
        ):
            batch.drop_column(name)
