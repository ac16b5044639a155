"""model attempts: the model that answered (the answer's modelVersion), which Google may route to another

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_attempts", schema=None) as batch_op:
        batch_op.drop_column("model_version")
