"""Fusion tuning (placeholder until its issue lands)."""

import ui

ui.coming_soon("Fusion tuning", "fusion-tuning")
