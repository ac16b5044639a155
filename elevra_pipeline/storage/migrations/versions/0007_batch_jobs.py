"""batch jobs: Gemini Batch API jobs, recorded before they are submitted

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gemini_batch_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("uploads.id"), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("batch_ids", sa.JSON(), nullable=False),
        sa.Column("estimated_tokens", sa.Integer(), nullable=False),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("applied_at", sa.Float(), nullable=True),
        sa.Column("next_poll_at", sa.Float(), nullable=False, server_default="0"),
        sa.Column("polls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_gemini_batch_jobs_upload_id", "gemini_batch_jobs", ["upload_id"])
    op.create_index("ix_gemini_batch_jobs_model", "gemini_batch_jobs", ["model"])
    op.create_index("ix_gemini_batch_jobs_state", "gemini_batch_jobs", ["state"])


def downgrade() -> None:
    op.drop_table("gemini_batch_jobs")
