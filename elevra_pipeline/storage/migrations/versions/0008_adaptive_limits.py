"""adaptive limits: effective limits per model learned from 429s, and the log of their changes

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quota_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rpm_effective", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tpm_effective", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rpd_effective", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rpd_effective_day", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("limits_changed_at", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("probe_windows", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_cut_at", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "quota_limit_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("limit", sa.String(8), nullable=False),
        sa.Column("old", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_quota_limit_changes_at", "quota_limit_changes", ["at"])
    op.create_index("ix_quota_limit_changes_model", "quota_limit_changes", ["model"])


def downgrade() -> None:
    op.drop_table("quota_limit_changes")
    with op.batch_alter_table("quota_models", schema=None) as batch_op:
        for column in (
            "probe_windows",
            "limits_changed_at",
            "rpd_effective_day",
            "rpd_effective",
            "tpm_effective",
            "rpm_effective",
        ):
            batch_op.drop_column(column)
