"""Lines and angles a coach draws on a frame (body line at take-off, hip angle at entry).

A drawing belongs to one source frame and is kept in source-pixel coordinates, so it stays on
that frame at any zoom, window size or export resolution; the desk saves the dive's drawings
with the dive (``Dive.drawings_json``, revision 0004). This module has no Qt: geometry and the
stored form only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from aqa_core.errors import AQAError

KINDS = {"line": 2, "angle": 3}  # points each kind needs
MAX_DRAWINGS = 500  # per dive: a coach's marks, not a data set


@dataclass(frozen=True)
class Drawing:
    frame: int  # 0-based source frame index
    kind: str  # "line" | "angle"
    points: tuple[tuple[float, float], ...]  # source pixels; an angle's vertex is the middle point

    def label(self) -> str:
        """What the drawing measures: a line's tilt from the horizontal, an angle at its vertex."""
        if self.kind == "line":
            (x0, y0), (x1, y1) = self.points
            tilt = abs(math.degrees(math.atan2(-(y1 - y0), x1 - x0)))
            return f"{min(tilt, 180 - tilt):.0f}° from horizontal"
        return f"{angle_at(*self.points):.0f}°"


def angle_at(a: tuple[float, float], vertex: tuple[float, float], b: tuple[float, float]) -> float:
    """The angle a-vertex-b in degrees (0-180)."""
    v1 = (a[0] - vertex[0], a[1] - vertex[1])
    v2 = (b[0] - vertex[0], b[1] - vertex[1])
    norms = math.hypot(*v1) * math.hypot(*v2)
    if norms == 0:
        return 0.0
    cosine = max(-1.0, min(1.0, (v1[0] * v2[0] + v1[1] * v2[1]) / norms))
    return math.degrees(math.acos(cosine))


def drawings_to_json(drawings: tuple[Drawing, ...] | list[Drawing]) -> str:
    return json.dumps([{"frame": d.frame, "kind": d.kind, "points": [list(p) for p in d.points]} for d in drawings])


def drawings_from_json(text: str | None) -> tuple[Drawing, ...]:
    """The stored drawings; a malformed value is refused by name, never half-read."""
    if not text:
        return ()
    try:
        items = json.loads(text)
        if not isinstance(items, list) or len(items) > MAX_DRAWINGS:
            raise ValueError("not a list of at most 500 drawings")
        drawings = []
        for item in items:
            kind, frame = item["kind"], int(item["frame"])
            points = tuple((float(x), float(y)) for x, y in item["points"])
            if kind not in KINDS or len(points) != KINDS[kind] or frame < 0:
                raise ValueError(f"bad drawing {item!r}")
            drawings.append(Drawing(frame, kind, points))
    except (ValueError, TypeError, KeyError) as exc:
        raise AQAError(f"a dive's stored drawings cannot be read ({exc})") from exc
    return tuple(drawings)
