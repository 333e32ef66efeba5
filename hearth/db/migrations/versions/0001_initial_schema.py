"""Initial schema: volumes, snapshots, volume types, user messages, outbox, backends.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The volume type a volume gets when its request names none (as in Cinder).
DEFAULT_TYPE_ID = "00000000-0000-4000-8000-000000000000"


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "backends",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("driver", sa.String(64), nullable=False),
        sa.Column("availability_zone", sa.String(255), nullable=False),
        sa.Column("clone_mode", sa.String(32), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("free_bytes", sa.BigInteger(), nullable=False),
        sa.Column("provisioned_bytes", sa.BigInteger(), nullable=False),
        sa.Column("allocated_bytes", sa.BigInteger(), nullable=False),
        _when("reported_at"),
        _when("created_at", nullable=False),
    )
    op.create_table(
        "messages",
        _id(),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("request_id", sa.String(255)),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_uuid", sa.String(36), index=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail_code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at"),
    )
    op.create_table(
        "notification_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("publisher_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("sent_at", sa.DateTime(), index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    volume_types = op.create_table(
        "volume_types",
        _id(),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("description", sa.String(255)),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("extra_specs", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at"),
    )
    op.create_table(
        "volumes",
        _id(),
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("host", sa.String(255), index=True),
        sa.Column("availability_zone", sa.String(255), nullable=False),
        sa.Column("volume_type_id", sa.String(36), sa.ForeignKey("volume_types.id")),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("snapshot_id", sa.String(36)),
        sa.Column("source_volid", sa.String(36)),
        sa.Column("image_id", sa.String(36)),
        sa.Column("backup_id", sa.String(36)),
        sa.Column("provider_location", sa.String(255)),
        sa.Column("metadata", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at"),
        _when("scheduled_at"),
        _when("launched_at"),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column("last_reschedule_cause", sa.Text()),
    )
    op.create_table(
        "snapshots",
        _id(),
        sa.Column(
            "volume_id", sa.String(36), sa.ForeignKey("volumes.id"), nullable=False, index=True
        ),
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("volume_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("provider_location", sa.String(255)),
        sa.Column("metadata", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at"),
    )
    op.bulk_insert(
        volume_types,
        [
            {
                "id": DEFAULT_TYPE_ID,
                "name": "__DEFAULT__",
                "description": "Default Volume Type",
                "is_public": True,
                "extra_specs": {},
                "created_at": datetime.now(UTC).replace(tzinfo=None),
            }
        ],
    )


def downgrade() -> None:
    for table in (
        "snapshots",
        "volumes",
        "volume_types",
        "notification_outbox",
        "messages",
        "backends",
    ):
        op.drop_table(table)
