"""Streamlit-only helpers for the views in ``views/``; the library (``sherlock/``) never imports streamlit.

- :mod:`ui.resources`: cached loaders (workspace, searcher, answerers, feedback store, frames), one per process
- :mod:`ui.widgets`: generic helpers: safe markdown, tables with a CSV download, progress bars, uploads
- :mod:`ui.chat`, :mod:`ui.incident`, :mod:`ui.patterns`, :mod:`ui.query_sets`, :mod:`ui.tuning`,
  :mod:`ui.experiments`, :mod:`ui.data`: each area's ``*_ui()`` helpers, which draw widgets and return plain
  values, and the views' larger blocks

Safety: incident text is data. It is rendered through :func:`ui.widgets.escape_markdown` (links, images, HTML and
emphasis are neutralised) and never with ``unsafe_allow_html``.
"""
