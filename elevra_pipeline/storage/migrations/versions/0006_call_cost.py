"""call cost: how each attempt was sent (online or batch) and what it cost in USD

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="online"))
        batch_op.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.drop_column("cost_usd")
        batch_op.drop_column("mode")
