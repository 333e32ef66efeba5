"""Volume types as Cinder has them: project access to private types, encryption types and
per-project default types.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _type_id(primary_key: bool) -> sa.Column[str]:
    return sa.Column(
        "volume_type_id",
        sa.String(36),
        sa.ForeignKey("volume_types.id"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "volume_type_projects",
        _type_id(primary_key=True),
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "volume_type_encryption",
        _type_id(primary_key=True),
        sa.Column("encryption_id", sa.String(36), nullable=False, unique=True),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("cipher", sa.String(255)),
        sa.Column("key_size", sa.Integer()),
        sa.Column("control_location", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )
    op.create_table(
        "default_volume_types",
        sa.Column("project_id", sa.String(255), primary_key=True),
        _type_id(primary_key=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )


def downgrade() -> None:
    for table in ("default_volume_types", "volume_type_encryption", "volume_type_projects"):
        op.drop_table(table)
