"""``ScoreResult``: the one shape every consumer reads.

The CLI prints it as JSON, the app draws it, the database stores it and the trainer evaluates
it. It is plain data (lists and floats, no tensors) with a stable ``to_dict``/``from_dict`` so a
stored analysis redraws every overlay without re-scoring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Estimate:
    """A point score decoded from one distribution, with its spread."""

    score: float  # decoded by the bundle's decoding rule (argmax or expectation)
    expectation: float
    std: float
    entropy: float  # natural-log entropy of the distribution, in nats
    low: float  # central 95% interval
    high: float


@dataclass(frozen=True)
class JudgeEstimate:
    """One judge path of a MUSDL head."""

    index: int  # 0-based position in the panel as displayed (J1 = 0)
    estimate: Estimate
    distribution: list[float]  # over ScoreResult.judge_bins
    dropped: bool  # the diving rule discards this judge


@dataclass(frozen=True)
class ClipEstimate:
    """What the head says about one clip before temporal pooling (the app draws these live)."""

    index: int
    start_frame: int  # source-video frame of the clip's first frame
    end_frame: int  # source-video frame of the clip's last frame (inclusive)
    distributions: list[list[float]]  # paths x bins: 1 path (USDL) or one per judge (MUSDL)
    score: float  # the clip's own point score on the final-score scale


@dataclass(frozen=True)
class Uncertainty:
    level: str  # "low" | "medium" | "high"
    value: float  # half-width of the final score's 95% interval, in points
    reasons: list[str]


@dataclass(frozen=True)
class DiveInfo:
    event: str  # "individual" | "synchronised"
    panel_size: int
    dive_number: str | None
    height: float | None
    difficulty: float
    description: str | None = None


@dataclass(frozen=True)
class ScoreResult:
    video: str
    model_name: str
    model_version: str
    head: str  # "usdl" | "musdl"
    dive: DiveInfo
    dive_window: tuple[int, int]  # first and last source frame used
    bins: list[float]  # score value of each bin of ClipEstimate.distributions
    clips: list[ClipEstimate]
    aggregate: list[list[float]]  # paths x bins after temporal pooling
    judges: list[JudgeEstimate]  # empty for a USDL head
    final: Estimate  # on the final-score scale (points, DD applied)
    uncertainty: Uncertainty
    decoding: str  # "argmax" | "expectation"
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    device: str = "cpu"
    precision: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dive_window"] = list(self.dive_window)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResult:
        def est(d: dict[str, Any]) -> Estimate:
            return Estimate(**d)

        return cls(
            video=data["video"],
            model_name=data["model_name"],
            model_version=data["model_version"],
            head=data["head"],
            dive=DiveInfo(**data["dive"]),
            dive_window=tuple(data["dive_window"]),  # type: ignore[arg-type]
            bins=list(data["bins"]),
            clips=[ClipEstimate(**c) for c in data["clips"]],
            aggregate=[list(p) for p in data["aggregate"]],
            judges=[
                JudgeEstimate(index=j["index"], estimate=est(j["estimate"]), distribution=j["distribution"], dropped=j["dropped"])
                for j in data["judges"]
            ],
            final=est(data["final"]),
            uncertainty=Uncertainty(**data["uncertainty"]),
            decoding=data["decoding"],
            timings=dict(data.get("timings", {})),
            device=data.get("device", "cpu"),
            precision=data.get("precision", "float32"),
        )
