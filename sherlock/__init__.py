"""Sherlock: incident-intelligence workbench — the library behind the app, the CLI and the notebooks.

Nothing heavy happens at import; models and indexes load on first use.
"""

__version__ = "0.1.0"
