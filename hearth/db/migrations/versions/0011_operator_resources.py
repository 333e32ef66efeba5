"""The operator's resources: quotas (limits, class limits, usages, reservations), service
rows with their heartbeats and switches, QoS specs and their volume-type associations,
volume transfers.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _serial() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def upgrade() -> None:
    op.create_table(
        "quotas",
        _serial(),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("hard_limit", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        sa.UniqueConstraint("project_id", "resource", name="uq_quotas_project"),
    )
    op.create_table(
        "quota_classes",
        _serial(),
        sa.Column("class_name", sa.String(255), nullable=False, index=True),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("hard_limit", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        sa.UniqueConstraint("class_name", "resource", name="uq_quota_classes_class"),
    )
    op.create_table(
        "quota_usages",
        _serial(),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("in_use", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        sa.UniqueConstraint("project_id", "resource", name="uq_quota_usages_project"),
    )
    op.create_table(
        "quota_reservations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "services",
        _serial(),
        sa.Column("binary", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("availability_zone", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(255)),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("log_levels", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        sa.UniqueConstraint("binary", "host", name="uq_services_binary_host"),
    )
    op.create_table(
        "qos_specs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("consumer", sa.String(16), nullable=False),
        sa.Column("specs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )
    op.create_table(
        "qos_associations",
        sa.Column(
            "volume_type_id",
            sa.String(36),
            sa.ForeignKey("volume_types.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "qos_specs_id",
            sa.String(36),
            sa.ForeignKey("qos_specs.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "volume_transfers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "volume_id", sa.String(36), sa.ForeignKey("volumes.id"), nullable=False, unique=True
        ),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("name", sa.String(255)),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "volume_transfers",
        "qos_associations",
        "qos_specs",
        "services",
        "quota_reservations",
        "quota_usages",
        "quota_classes",
        "quotas",
    ):
        op.drop_table(table)
