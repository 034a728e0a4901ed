"""law: questions asked, 👍/👎 feedback, imported article texts

Revision ID: 0005_law
Revises: 0004_points
Create Date: 2026-11-22 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision: str = "0005_law"
down_revision: str | None = "0004_points"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "law_questions",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("person_id", BigIntPK, nullable=True),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("gap_key", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("faq_id", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("article", sa.Integer(), nullable=True),
        sa.Column("passed_at", bot.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_law_questions_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_questions")),
    )
    with op.batch_alter_table("law_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_law_questions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_law_questions_gap_key"), ["gap_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_law_questions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "law_feedback",
        sa.Column("id", BigIntPK, nullable=False),
        sa.Column("person_id", BigIntPK, nullable=False),
        sa.Column("faq_id", sa.String(length=100), nullable=False),
        sa.Column("question_id", BigIntPK, nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_law_feedback_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["law_questions.id"],
            name=op.f("fk_law_feedback_question_id_law_questions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_feedback")),
        sa.UniqueConstraint("person_id", "faq_id", name=op.f("uq_law_feedback_person_id_faq_id")),
    )
    with op.batch_alter_table("law_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_law_feedback_faq_id"), ["faq_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_law_feedback_person_id"), ["person_id"], unique=False)

    op.create_table(
        "law_article_texts",
        sa.Column("article", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("imported_at", bot.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("article", name=op.f("pk_law_article_texts")),
    )


def downgrade() -> None:
    op.drop_table("law_article_texts")
    with op.batch_alter_table("law_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_law_feedback_person_id"))
        batch_op.drop_index(batch_op.f("ix_law_feedback_faq_id"))
    op.drop_table("law_feedback")
    with op.batch_alter_table("law_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_law_questions_person_id"))
        batch_op.drop_index(batch_op.f("ix_law_questions_gap_key"))
        batch_op.drop_index(batch_op.f("ix_law_questions_created_at"))
    op.drop_table("law_questions")
