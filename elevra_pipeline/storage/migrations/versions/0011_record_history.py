"""record history: what each upload set or changed (record_changes), and who gave each record (record_sources)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("uploads.id"), nullable=True),
        sa.Column("upload_label", sa.String(length=300), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_record_changes_record", "record_changes", ["record_type", "record_id"])
    op.create_index("ix_record_changes_upload_id", "record_changes", ["upload_id"])
    op.create_table(
        "record_sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("uploads.id"), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("record_type", "record_id", "upload_id"),
    )
    op.create_index("ix_record_sources_upload_id", "record_sources", ["upload_id"])


def downgrade() -> None:
    op.drop_table("record_sources")
    op.drop_table("record_changes")
