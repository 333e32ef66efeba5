"""The backup service: its heartbeat rows, and the status a backed-up volume returns to.

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backup_services",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("availability_zone", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("reported_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("volume_previous_status", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.drop_column("volume_previous_status")
    op.drop_table("backup_services")
