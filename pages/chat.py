"""Chat search (placeholder until its issue lands)."""

import ui

ui.coming_soon("Chat search", "chat search")
