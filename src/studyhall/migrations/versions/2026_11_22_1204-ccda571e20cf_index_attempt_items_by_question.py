"""index attempt items by question

Revision ID: ccda571e20cf
Revises: b418bd382e74
Create Date: 2026-11-22 12:04:35.076825+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ccda571e20cf"
down_revision: str | None = "b418bd382e74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempt_items", schema=None) as batch_op:
        batch_op.create_index("ix_attempt_items_question_id", ["question_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attempt_items", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_items_question_id")
