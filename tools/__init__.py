"""Development tools that are not runtime code (the demo corpus generator)."""
