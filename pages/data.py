"""Data (placeholder until its issue lands)."""

import ui

ui.coming_soon("Data", "chat search")
