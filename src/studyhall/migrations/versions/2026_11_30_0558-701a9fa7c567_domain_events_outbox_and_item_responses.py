"""domain events: the outbox, its deliveries and the delivery lock; analytics' own
item_responses, backfilled from the submitted attempts' items

Revision ID: 701a9fa7c567
Revises: ccda571e20cf
Create Date: 2026-11-30 05:58:56.081927+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "701a9fa7c567"
down_revision: str | None = "ccda571e20cf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BACKFILL_ITEM_RESPONSES = """
INSERT INTO item_responses (
    attempt_id, question_id, question_version_id, user_id, response, is_correct,
    attempt_percent, submitted_at
)
SELECT i.attempt_id, i.question_id, i.question_version_id, a.user_id, i.response,
       COALESCE(i.is_correct, FALSE), COALESCE(a.percent, 0), a.submitted_at
FROM attempt_items AS i
JOIN attempts AS a ON a.id = i.attempt_id
WHERE a.status = 'submitted' AND a.submitted_at IS NOT NULL
ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    op.create_table(
        "event_delivery_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pass_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery_lock")),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("aggregate_key", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_events_dispatched_seq", ["dispatched_at", "seq"], unique=False
        )

    op.create_table(
        "event_deliveries",
        sa.Column(
            "event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("handler", sa.String(length=100), nullable=False),
        sa.Column("aggregate_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["outbox_events.seq"],
            name=op.f("fk_event_deliveries_event_seq_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_seq", "handler", name=op.f("pk_event_deliveries")),
    )
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_event_deliveries_queue",
            ["handler", "aggregate_key", "status", "event_seq"],
            unique=False,
        )

    op.create_table(
        "item_responses",
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("question_version_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.Column("attempt_percent", sa.Double(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_item_responses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", "question_id", name=op.f("pk_item_responses")),
    )
    with op.batch_alter_table("item_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_item_responses_question_submitted", ["question_id", "submitted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_item_responses_user_id"), ["user_id"], unique=False)

    # Item analysis now reads analytics' own rows: copy the facts of every attempt submitted
    # before this revision (later ones arrive through the attempt.submitted event).
    op.execute(BACKFILL_ITEM_RESPONSES)


def downgrade() -> None:
    with op.batch_alter_table("item_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_responses_user_id"))
        batch_op.drop_index("ix_item_responses_question_submitted")

    op.drop_table("item_responses")
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_event_deliveries_queue")
        batch_op.drop_index("ix_event_deliveries_due")

    op.drop_table("event_deliveries")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_dispatched_seq")

    op.drop_table("outbox_events")
    op.drop_table("event_delivery_lock")
