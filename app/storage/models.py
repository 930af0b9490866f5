"""The sessions schema as typed SQLAlchemy 2 models (the state after the newest migration).

Every row that leaves the database (export, import) carries a ``uuid`` so importing a session
twice, or into another club's database, never duplicates it. Analyses are immutable: re-scoring
adds a new row and moves ``Dive.latest_analysis_id``; a trigger in migration 0001 refuses UPDATE.
The Alembic revisions in ``migrations/versions`` create exactly these tables; the models are
used for ORM access and Alembic autogenerate only.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, datetime, timezone

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_uuid() -> str:
    return str(uuid_module.uuid4())


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Competition(Base):
    __tablename__ = "competition"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[date | None] = mapped_column(Date)

    events: Mapped[list[Event]] = relationship(back_populates="competition")


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competition.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # "individual" | "synchronised"
    height: Mapped[float | None] = mapped_column(Float)

    competition: Mapped[Competition] = relationship(back_populates="events")


class Athlete(Base):
    __tablename__ = "athlete"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), index=True)
    country: Mapped[str | None] = mapped_column(String(60))


class Video(Base):
    """A video file known by its content hash, so a moved file is found again."""

    __tablename__ = "video"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the file
    size_bytes: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    frame_count: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)


class Dive(Base):
    __tablename__ = "dive"
    __table_args__ = (Index("ix_dive_performed_at", "performed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    athlete_id: Mapped[int] = mapped_column(ForeignKey("athlete.id"), index=True)
    video_id: Mapped[int | None] = mapped_column(ForeignKey("video.id"))
    round: Mapped[int | None] = mapped_column(Integer)
    dive_number: Mapped[str | None] = mapped_column(String(8), index=True)
    height: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float] = mapped_column(Float)
    panel_size: Mapped[int] = mapped_column(Integer)
    performed_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    window_start: Mapped[int | None] = mapped_column(Integer)
    window_end: Mapped[int | None] = mapped_column(Integer)
    human_final: Mapped[float | None] = mapped_column(Float)  # the real panel's final score
    # The latest analysis, and (revision 0003) a copy of what the browser lists from it, so
    # listing 10,000 dives never reads the large analysis rows.
    latest_analysis_id: Mapped[int | None] = mapped_column(ForeignKey("analysis.id", use_alter=True))
    predicted_final: Mapped[float | None] = mapped_column(Float)
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(60))
    uncertainty_level: Mapped[str | None] = mapped_column(String(10))
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime)  # revision 0004: the latest analysis's time
    drawings_json: Mapped[str | None] = mapped_column(Text)  # revision 0004: lines and angles (app/drawings.py)

    event: Mapped[Event] = relationship()
    athlete: Mapped[Athlete] = relationship()
    video: Mapped[Video | None] = relationship()
    human_scores: Mapped[list[HumanScore]] = relationship(order_by="HumanScore.judge_index", cascade="all, delete-orphan")


class Analysis(Base):
    """One immutable scoring of a dive: the full ScoreResult JSON plus columns to filter on."""

    __tablename__ = "analysis"
    __table_args__ = (Index("ix_analysis_model", "model_name", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    dive_id: Mapped[int] = mapped_column(ForeignKey("dive.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(60))
    head: Mapped[str] = mapped_column(String(20))
    decoding: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[int] = mapped_column(Integer)
    window_end: Mapped[int] = mapped_column(Integer)
    final_score: Mapped[float] = mapped_column(Float, index=True)
    uncertainty_level: Mapped[str] = mapped_column(String(10))
    uncertainty_value: Mapped[float] = mapped_column(Float)
    total_seconds: Mapped[float | None] = mapped_column(Float)
    result_json: Mapped[str] = mapped_column(Text)


class HumanScore(Base):
    """One real judge's award for a dive (J1 = judge_index 0, as the panel is displayed)."""

    __tablename__ = "human_score"
    __table_args__ = (UniqueConstraint("dive_id", "judge_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dive_id: Mapped[int] = mapped_column(ForeignKey("dive.id", ondelete="CASCADE"))
    judge_index: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)


# --- added by revision 0002 -------------------------------------------------------------


class Note(Base):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    dive_id: Mapped[int] = mapped_column(ForeignKey("dive.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    text: Mapped[str] = mapped_column(Text)


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class DiveTag(Base):
    __tablename__ = "dive_tag"

    dive_id: Mapped[int] = mapped_column(ForeignKey("dive.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)


class ModelEntry(Base):
    """A model bundle the club has used, so every analysis can be traced to its bundle."""

    __tablename__ = "model_entry"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(60))
    path: Mapped[str | None] = mapped_column(Text)
    data_card_json: Mapped[str] = mapped_column(Text, default="{}")
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now)
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)  # revision 0005: bundle.json's
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # revision 0005: the desk's model
    display_name: Mapped[str | None] = mapped_column(String(200))  # revision 0006: the club's name for it (rename)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # revision 0006: its bundle deleted, the record kept
