"""Storage: the store of record, ingest, the workspace that keeps indexes in step, feedback."""
