"""Experiments (placeholder until its issue lands)."""

import ui

ui.coming_soon("Experiments", "A/B experiments")
