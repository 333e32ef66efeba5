"""Capacity counters: the GiB of the snapshots on each backend, kept with the claims; and
the indexes that give a page of a volume list in its default order without a sort.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backends") as batch:
        batch.add_column(
            sa.Column("snapshot_capacity_gb", sa.Integer(), nullable=False, server_default="0")
        )
    # the counter starts from what the rows say (a snapshot counts on its volume's backend)
    op.execute(
        "UPDATE backends SET snapshot_capacity_gb = (SELECT COALESCE(SUM(s.volume_size), 0) "
        "FROM snapshots s JOIN volumes v ON v.id = s.volume_id WHERE v.host = backends.name)"
    )
    op.create_index("ix_volumes_project_created", "volumes", ["project_id", "created_at", "id"])
    op.create_index("ix_volumes_created", "volumes", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_volumes_created", "volumes")
    op.drop_index("ix_volumes_project_created", "volumes")
    with op.batch_alter_table("backends") as batch:
        batch.drop_column("snapshot_capacity_gb")
