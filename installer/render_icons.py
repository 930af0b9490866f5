"""Render resources/icons/aqa-judge.svg to the PNG (Linux) and ICO (Windows) the installers use.

Run once after editing the SVG: ``QT_QPA_PLATFORM=offscreen python installer/render_icons.py``.
Qt renders both, so no image tool is needed; macOS's .icns is made on the Mac with ``iconutil``
(installer/macos/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(ICONS / "aqa-judge.svg")).render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage painting needs the application
    ok = render(256).save(str(ICONS / "aqa-judge.png"), "PNG") and render(256).save(str(ICONS / "aqa-judge.ico"), "ICO")
    print("wrote aqa-judge.png and aqa-judge.ico" if ok else "could not write the icons (is Qt's ico image plugin there?)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
