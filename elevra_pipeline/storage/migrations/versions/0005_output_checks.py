"""output checks: why an attempt's answer was rejected, what was cleaned from a batch's answer

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_message", sa.Text(), nullable=True))
    with op.batch_alter_table("election_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("output_notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("election_batches", schema=None) as batch_op:
        batch_op.drop_column("output_notes")
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.drop_column("error_message")
