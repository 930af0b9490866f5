"""tabs package."""
