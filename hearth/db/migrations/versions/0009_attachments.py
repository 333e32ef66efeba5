"""Attachments: the table, and the volume's attach status.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(
            sa.Column("attach_status", sa.String(16), nullable=False, server_default="detached")
        )
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("volume_id", sa.String(36), sa.ForeignKey("volumes.id"), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("instance_uuid", sa.String(36)),
        sa.Column("attached_host", sa.String(255)),
        sa.Column("mountpoint", sa.String(255)),
        sa.Column("attach_mode", sa.String(8), nullable=False),
        sa.Column("connector", sa.JSON()),
        sa.Column("connection_info", sa.JSON()),
        sa.Column("legacy", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("attached_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )
    for column in ("volume_id", "project_id", "host", "status", "instance_uuid"):
        op.create_index(f"ix_attachments_{column}", "attachments", [column])


def downgrade() -> None:
    op.drop_table("attachments")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_column("attach_status")
