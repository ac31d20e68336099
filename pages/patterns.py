"""Incident patterns (placeholder until its issue lands)."""

import ui

ui.coming_soon("Incident patterns", "incident patterns")
