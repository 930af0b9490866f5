"""app package."""

from app.qt_refcount_guard import make_singletons_immortal

make_singletons_immortal()
