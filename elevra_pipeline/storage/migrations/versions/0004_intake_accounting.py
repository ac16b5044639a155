"""intake accounting: upload options and intake report, batch failure kind

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options_json", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("intake_json", sa.JSON(), nullable=True))
    with op.batch_alter_table("election_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("election_batches", schema=None) as batch_op:
        batch_op.drop_column("failure_kind")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("intake_json")
        batch_op.drop_column("options_json")
