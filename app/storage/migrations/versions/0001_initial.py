"""Initial schema: competitions, events, athletes, videos, dives, analyses, human judge scores.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _uuid() -> sa.Column:
    return sa.Column("uuid", sa.String(36), nullable=False, unique=True)


def upgrade() -> None:
    op.create_table(
        "competition",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200)),
        sa.Column("start_date", sa.Date),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("competition_id", sa.Integer, sa.ForeignKey("competition.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("height", sa.Float),
    )
    op.create_index("ix_event_competition_id", "event", ["competition_id"])
    op.create_table(
        "athlete",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(60)),
    )
    op.create_index("ix_athlete_name", "athlete", ["name"])
    op.create_table(
        "video",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("fps", sa.Float),
        sa.Column("frame_count", sa.Integer),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
    )
    op.create_table(
        "dive",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=False),
        sa.Column("athlete_id", sa.Integer, sa.ForeignKey("athlete.id"), nullable=False),
        sa.Column("video_id", sa.Integer, sa.ForeignKey("video.id")),
        sa.Column("round", sa.Integer),
        sa.Column("dive_number", sa.String(8)),
        sa.Column("height", sa.Float),
        sa.Column("difficulty", sa.Float, nullable=False),
        sa.Column("panel_size", sa.Integer, nullable=False),
        sa.Column("performed_at", sa.DateTime, nullable=False),
        sa.Column("window_start", sa.Integer),
        sa.Column("window_end", sa.Integer),
        sa.Column("human_final", sa.Float),
        sa.Column("latest_analysis_id", sa.Integer, sa.ForeignKey("analysis.id")),
    )
    op.create_index("ix_dive_event_id", "dive", ["event_id"])
    op.create_index("ix_dive_athlete_id", "dive", ["athlete_id"])
    op.create_index("ix_dive_dive_number", "dive", ["dive_number"])
    op.create_index("ix_dive_performed_at", "dive", ["performed_at"])
    op.create_table(
        "analysis",
        sa.Column("id", sa.Integer, primary_key=True),
        _uuid(),
        sa.Column("dive_id", sa.Integer, sa.ForeignKey("dive.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(60), nullable=False),
        sa.Column("head", sa.String(20), nullable=False),
        sa.Column("decoding", sa.String(20), nullable=False),
        sa.Column("window_start", sa.Integer, nullable=False),
        sa.Column("window_end", sa.Integer, nullable=False),
        sa.Column("final_score", sa.Float, nullable=False),
        sa.Column("uncertainty_level", sa.String(10), nullable=False),
        sa.Column("uncertainty_value", sa.Float, nullable=False),
        sa.Column("total_seconds", sa.Float),
        sa.Column("result_json", sa.Text, nullable=False),
    )
    op.create_index("ix_analysis_dive_id", "analysis", ["dive_id"])
    op.create_index("ix_analysis_final_score", "analysis", ["final_score"])
    op.create_index("ix_analysis_model", "analysis", ["model_name", "model_version"])
    # Analyses are records of what a model said; correcting one means adding a new one.
    op.execute(
        "CREATE TRIGGER analysis_immutable BEFORE UPDATE ON analysis "
        "BEGIN SELECT RAISE(ABORT, 'analyses are immutable; re-score to add a new one'); END"
    )
    op.create_table(
        "human_score",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dive_id", sa.Integer, sa.ForeignKey("dive.id", ondelete="CASCADE"), nullable=False),
        sa.Column("judge_index", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.UniqueConstraint("dive_id", "judge_index"),
    )


def downgrade() -> None:
    for table in ("human_score", "analysis", "dive", "video", "athlete", "event", "competition"):
        op.drop_table(table)
