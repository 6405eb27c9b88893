"""analytics: attempt_results (per-quiz leaderboards), rank_buckets (percentiles) and the
all-time leaderboard index on user_stats

Revision ID: b418bd382e74
Revises: 167351982787
Create Date: 2026-11-22 11:28:00.124917+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b418bd382e74"
down_revision: str | None = "167351982787"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rank_buckets",
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "bucket", name=op.f("pk_rank_buckets")),
    )
    op.create_table(
        "attempt_results",
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("quiz_id", sa.Uuid(), nullable=True),
        sa.Column("percent", sa.Double(), nullable=False),
        sa.Column("question_count", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("time_spent_seconds", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_attempt_results_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_attempt_results_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_attempt_results")),
    )
    with op.batch_alter_table("attempt_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempt_results_quiz_submitted", ["quiz_id", "submitted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attempt_results_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("user_stats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_user_stats_correct_accuracy", ["correct", "accuracy"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("user_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_user_stats_correct_accuracy")

    with op.batch_alter_table("attempt_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_results_user_id"))
        batch_op.drop_index("ix_attempt_results_quiz_submitted")

    op.drop_table("attempt_results")
    op.drop_table("rank_buckets")
