"""The timeline's mark labels (Compare's above the bars, the dives' T/E below) never sit on a clip bar."""

from __future__ import annotations

from app.widgets.timeline import CLIP_COLOURS, LABEL_STRIP_PX, Timeline

CLIPS = [(i * 9, i * 9 + 15) for i in range(10)]  # ten overlapping clips of a 109-frame video


def timeline(qtbot, marks: bool, dives: bool) -> Timeline:
    widget = Timeline()
    qtbot.addWidget(widget)
    widget.resize(600, widget.minimumHeight())  # the smallest the desk or Compare can make it
    widget.set_frame_count(109)
    widget.set_clips(CLIPS)
    if marks:
        widget.set_marks([(20, "take-off"), (80, "entry")])
    if dives:
        widget.dives = [(20, 80)]
    widget.show()
    return widget


def test_the_bars_stay_between_the_label_strips_and_hold_their_number(qtbot) -> None:
    widget = timeline(qtbot, marks=True, dives=True)
    text_height = widget.fontMetrics().height()
    for i in range(len(CLIPS)):
        rect = widget.clip_rect(i)
        assert rect.top() >= LABEL_STRIP_PX and rect.bottom() <= widget.height() - LABEL_STRIP_PX
        assert rect.height() >= text_height - 2  # the clip's number fits its bar


def test_no_clip_colour_is_painted_where_the_labels_go(qtbot) -> None:
    widget = timeline(qtbot, marks=True, dives=True)
    image = widget.grab().toImage()
    colours = {c.rgb() for c in CLIP_COLOURS}
    strips = [*range(0, LABEL_STRIP_PX - 1), *range(widget.height() - LABEL_STRIP_PX + 1, widget.height())]
    painted = {(x, y) for y in strips for x in range(image.width()) if image.pixelColor(x, y).rgb() in colours}
    assert not painted


def test_without_marks_the_bars_take_the_room(qtbot) -> None:
    plain, marked = timeline(qtbot, marks=False, dives=False), timeline(qtbot, marks=True, dives=True)
    assert plain.clip_rect(0).height() > marked.clip_rect(0).height()
    centre = plain.clip_rect(0).center()
    assert plain.grab().toImage().pixelColor(int(centre.x()) - 8, int(centre.y())).rgb() == CLIP_COLOURS[0].rgb()  # drawn where it says
