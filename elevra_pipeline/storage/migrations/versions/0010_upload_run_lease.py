"""upload run lease: one run at a time per upload (the run that holds it, and until when)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_owner", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("run_lease_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("run_lease_until")
        batch_op.drop_column("run_owner")
