"""``ScoreResult``: the one shape every consumer reads.

The CLI prints it as JSON, the app draws it, the database stores it and the trainer evaluates
it. It is plain data (lists and floats, no tensors) with a stable ``to_dict``/``from_dict`` so a
stored analysis redraws every overlay without re-scoring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aqa_core.errors import ResultSchemaError

# 2: calibrated intervals, level bounds and the unfamiliar-footage score; 3: the model's content
# fingerprint and the optional fields methods fill (sampled judges, recognised dive, commentary,
# whether the judges are counted marks); 4: exemplar votes (CoRe); 5: damage (FFmpeg's decoding
# errors in the window, aqa_core.video_check). from_dict reads every earlier schema: a field it
# lacks is None (False for counted marks).
SCHEMA_VERSION = 5
UNFAMILIAR_MESSAGE = "unfamiliar footage: the model was not trained on dives like this"
BEYOND_CALIBRATION_MESSAGE = (
    "footage farther from the training dives than any it was calibrated on: the intervals may be too narrow"
)


@dataclass(frozen=True)
class Estimate:
    """A point score decoded from one distribution, with its spread."""

    score: float  # decoded by the bundle's decoding rule (argmax or expectation)
    expectation: float
    std: float
    entropy: float  # natural-log entropy of the distribution, in nats
    low: float  # central 95% interval: the calibrated one when ``intervals`` is set, else the distribution's
    high: float
    # Calibrated central intervals by coverage ("0.8", "0.95") -> (low, high), fitted on validation
    # dives (aqa_core.calibration); empty when the bundle carries no calibration.
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scaled(self, ratio: float) -> Estimate:
        """The same estimate on a scale ``ratio`` times larger (a MUSDL final under another DD)."""
        return replace(
            self, score=self.score * ratio, expectation=self.expectation * ratio, std=self.std * ratio,
            low=self.low * ratio, high=self.high * ratio,
            intervals={k: (lo * ratio, hi * ratio) for k, (lo, hi) in self.intervals.items()},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        intervals = {str(k): (float(v[0]), float(v[1])) for k, v in data.get("intervals", {}).items()}
        return cls(**{**data, "intervals": intervals})


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
class Familiarity:
    """How far the video's backbone features lie from the training dives' (aqa_core.familiarity)."""

    score: float  # distance to the training-feature summary; larger is less familiar
    threshold: float  # calibrated on validation dives; above it the footage is unfamiliar
    unfamiliar: bool
    calibrated_within: float | None = None  # the farthest validation dive's score; None: not recorded

    @property
    def beyond_calibration(self) -> bool:
        return not self.unfamiliar and self.calibrated_within is not None and self.score > self.calibrated_within

    @property
    def message(self) -> str | None:
        if self.unfamiliar:
            return UNFAMILIAR_MESSAGE
        return BEYOND_CALIBRATION_MESSAGE if self.beyond_calibration else None


@dataclass(frozen=True)
class Damage:
    """FFmpeg reported decoding errors in the dive's window (aqa_core.video_check), or could not be asked."""

    frames: list[int]  # source frames (0-based) decoded with errors or predicted from such frames; empty when ``problem`` says why nothing is known
    sample: str = ""  # FFmpeg's first error line
    problem: str = ""  # the check could not run: why

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Damage:
        """As stored; refuses what the check never writes (a stored analysis can come from an imported file)."""
        frames, sample, problem = data["frames"], data.get("sample", ""), data.get("problem", "")
        if not (isinstance(frames, list) and all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in frames)):
            raise ValueError("damage.frames is not frame indices")
        if not (isinstance(sample, str) and isinstance(problem, str)) or not (frames or problem):
            raise ValueError("damage names no frame and no reason")
        return cls(frames=frames, sample=sample, problem=problem)

    @property
    def message(self) -> str:
        if self.problem:
            return f"the video could not be checked for damage ({self.problem}): its frames may be damaged"
        return f"damaged video: FFmpeg could not decode {self.where} cleanly; the score is of a damaged picture"

    @property
    def where(self) -> str:
        """The damaged frames as people count them: "frame 66", "7 frames between 66 and 80"."""
        first, last = min(self.frames) + 1, max(self.frames) + 1
        return f"frame {first}" if first == last else f"{len(self.frames)} frames between {first} and {last}"


@dataclass(frozen=True)
class DiveInfo:
    event: str  # "individual" | "synchronised"
    panel_size: int
    dive_number: str | None
    height: float | None
    difficulty: float
    description: str | None = None


@dataclass(frozen=True)
class JudgeSamples:
    """A method that samples its judges (UD-AQA's latent draws): the panels drawn and how much they disagree."""

    panels: list[list[float]]  # samples x judges, each panel as drawn (before the rule)
    uncertainty: float  # the method's own predicted uncertainty u
    spread: float  # std over the samples of the final each sampled panel gives


@dataclass(frozen=True)
class RecognisedDive:
    """What a method that recognises dives (MTL-AQA's auxiliary heads) sees, and how it agrees with the sheet."""

    dive_number: str | None  # proposed from the recognised class; None when the class maps to no dive number
    difficulty: float | None  # the proposed dive's DD from the DD table
    confidence: float  # probability of the recognised class
    parts: dict[str, str]  # position, armstand, rotation type, somersaults, twists as recognised
    mismatch: bool  # the typed dive number disagrees with what the model sees


@dataclass(frozen=True)
class ExemplarVote:
    """One exemplar a method that scores by comparison (CoRe) voted against: who, and what it said."""

    exemplar_id: str  # the training dive's id in its dataset
    dive_number: str | None
    difficulty: float
    score: float  # the exemplar's own final score
    relative: float  # predicted final of this dive minus the exemplar's score (final-score points)
    vote: float  # score + relative: this dive's final as judged against this exemplar
    match: str  # "dive number" | "DD" | "nearest DD": why it was chosen (aqa_core.methods.exemplars)
    judges: list[float] | None = None  # the exemplar's judges' marks, when the dataset had them
    video: str | None = None  # its video file when the bundle recorded one; None: the bundle carries features only


@dataclass(frozen=True)
class ExemplarVotes:
    votes: list[ExemplarVote]
    note: str | None = None  # e.g. no exemplar of this DD in the bank: the nearest DD was used


@dataclass(frozen=True)
class Commentary:
    """A generated commentary line, always shown with its caveat."""

    text: str
    caveat: str


@dataclass(frozen=True)
class ScoreResult:
    video: str
    model_name: str
    model_version: str
    head: str  # the registered method that scored it (aqa_core.methods): "usdl", "musdl", "ud_aqa", "mtl_aqa"
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
    familiarity: Familiarity | None = None  # None: the bundle has no training-feature summary
    # Calibrated 95% half-widths (in points of the kept judges' sum) that separate low | medium | high;
    # None: the fixed defaults of aqa_core.decoding (an uncalibrated bundle)
    level_bounds: tuple[float, float] | None = None
    model_fingerprint: str | None = None  # ModelBundle.fingerprint; None in analyses stored before schema 3
    judge_samples: JudgeSamples | None = None
    recognised_dive: RecognisedDive | None = None
    commentary: Commentary | None = None
    exemplar_votes: ExemplarVotes | None = None
    # The judges are the counting marks only (a model trained on counted marks, aqa_core.heads.panel):
    # not the panel's seats, none dropped; False in analyses stored before the field existed.
    counted_marks: bool = False
    damage: Damage | None = None  # None: the window decoded without errors (or stored before schema 5)

    @property
    def caveats(self) -> list[str]:
        """Warnings every consumer must show beside this score."""
        caveats = [self.damage.message] if self.damage else []
        caveats += [self.familiarity.message] if self.familiarity and self.familiarity.message else []
        return caveats + ([self.commentary.caveat] if self.commentary else [])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dive_window"] = list(self.dive_window)
        data["schema_version"] = SCHEMA_VERSION
        data["caveats"] = self.caveats
        for est in [data["final"], *(j["estimate"] for j in data["judges"])]:
            est["intervals"] = {k: list(v) for k, v in est["intervals"].items()}
        if self.level_bounds is not None:
            data["level_bounds"] = list(self.level_bounds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResult:
        """Every schema up to ``SCHEMA_VERSION``; a newer one is refused, since its fields could not all be shown."""
        schema = data.get("schema_version", 1)
        if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA_VERSION:
            raise ResultSchemaError(f"score result stored in schema {schema!r} by a newer version of the program; "
                                    f"this one reads schema {SCHEMA_VERSION} and older")
        est = Estimate.from_dict
        familiarity = data.get("familiarity")
        bounds = data.get("level_bounds")

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
            familiarity=Familiarity(**familiarity) if familiarity else None,
            level_bounds=(float(bounds[0]), float(bounds[1])) if bounds else None,
            model_fingerprint=data.get("model_fingerprint"),
            judge_samples=JudgeSamples(**data["judge_samples"]) if data.get("judge_samples") else None,
            recognised_dive=RecognisedDive(**data["recognised_dive"]) if data.get("recognised_dive") else None,
            commentary=Commentary(**data["commentary"]) if data.get("commentary") else None,
            exemplar_votes=_exemplar_votes(data.get("exemplar_votes")),
            counted_marks=bool(data.get("counted_marks", False)),
            damage=Damage.from_dict(data["damage"]) if data.get("damage") else None,
        )


def _exemplar_votes(data: dict[str, Any] | None) -> ExemplarVotes | None:
    if not data:
        return None
    return ExemplarVotes(votes=[ExemplarVote(**v) for v in data["votes"]], note=data.get("note"))
