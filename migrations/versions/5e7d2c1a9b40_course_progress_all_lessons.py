"""Course progress counts every lesson, quizzes get a capped number of attempts:
lesson_progress.quiz_passed (the lesson's instant quiz was passed) and quiz_attempts.attempt_no
(unique per teacher and quiz, so racing submissions cannot exceed the cap). Existing course rows are
recounted: lessons_completed now counts done lessons of every kind (videos watched, texts opened,
quizzes passed), and earlier rows counted videos only, which stay valid (a completed video without a
quiz is still done; with a quiz it now waits for a pass).

Revision ID: 5e7d2c1a9b40
Revises: c8e1f3a5b702
Create Date: 2026-11-24 07:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e7d2c1a9b40"
down_revision = "c8e1f3a5b702"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lesson_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiz_passed", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_no", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_quiz_attempts_lesson_user_no", ["lesson_id", "user_id", "attempt_no"])
    # A lesson with a quiz counts once passed (60 points, the default pass score); then recount.
    op.execute(
        "UPDATE lesson_progress SET quiz_passed = "
        "EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.lesson_id = lesson_progress.lesson_id "
        "AND a.user_id = lesson_progress.user_id AND a.score >= 60)"
    )
    op.execute(
        "UPDATE course_progress SET lessons_completed = (SELECT count(*) FROM lesson_progress lp "
        "JOIN lessons l ON l.id = lp.lesson_id WHERE lp.user_id = course_progress.user_id "
        "AND lp.course_id = course_progress.course_id AND lp.completed "
        "AND (lp.quiz_passed OR NOT EXISTS (SELECT 1 FROM quiz_questions q WHERE q.lesson_id = l.id)))"
    )


def downgrade():
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_quiz_attempts_lesson_user_no", type_="unique")
        batch_op.drop_column("attempt_no")
    with op.batch_alter_table("lesson_progress", schema=None) as batch_op:
        batch_op.drop_column("quiz_passed")
