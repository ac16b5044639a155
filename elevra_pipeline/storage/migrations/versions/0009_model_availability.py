"""model availability: a model Gemini no longer serves (404) or that the start-up check did not find

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quota_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unavailable_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("unavailable_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quota_models", schema=None) as batch_op:
        batch_op.drop_column("unavailable_reason")
        batch_op.drop_column("unavailable_at")
