"""The HTTP API (FastAPI on uvicorn) over the same workspace, searcher, answerer and similar-incidents finder as the
app and the CLI: ``sherlock serve``."""
