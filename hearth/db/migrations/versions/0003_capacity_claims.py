"""Capacity claims: each backend's limit and the GiB claimed by the volumes placed on it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backends") as batch:
        batch.add_column(
            sa.Column("capacity_limit_gb", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("allocated_capacity_gb", sa.Integer(), nullable=False, server_default="0")
        )
    # volumes placed before claims existed hold their capacity from now on
    op.execute(
        "UPDATE backends SET allocated_capacity_gb = COALESCE("
        "(SELECT SUM(size) FROM volumes WHERE volumes.host = backends.name), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("backends") as batch:
        batch.drop_column("allocated_capacity_gb")
        batch.drop_column("capacity_limit_gb")
