"""Images: the image store's rows, the image-volume cache, and image fields on volumes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "images",
        _id(),
        sa.Column("name", sa.String(255), index=True),
        sa.Column("owner", sa.String(255), nullable=False, index=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("disk_format", sa.String(16), nullable=False),
        sa.Column("container_format", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("size", sa.BigInteger()),
        sa.Column("checksum", sa.String(32)),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        sa.Column("virtual_size", sa.BigInteger()),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at"),
    )
    op.create_table(
        "image_cache_entries",
        _id(),
        sa.Column("host", sa.String(255), nullable=False, index=True),
        sa.Column("image_id", sa.String(36), nullable=False, index=True),
        sa.Column("image_checksum", sa.String(128), nullable=False),
        _when("image_updated_at", nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("in_use", sa.Integer(), nullable=False),
        _when("last_used", nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at"),
    )
    op.add_column("volumes", sa.Column("volume_image_metadata", sa.JSON()))
    op.add_column("volumes", sa.Column("progress", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("volumes") as batch:  # SQLite rebuilds the table to drop
        batch.drop_column("progress")
        batch.drop_column("volume_image_metadata")
    op.drop_table("image_cache_entries")
    op.drop_table("images")
