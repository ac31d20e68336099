"""Search monitoring: the query log (:mod:`sherlock.monitoring.querylog`), what the app, the CLI and the API log to it
(:mod:`sherlock.monitoring.record`), and what ``sherlock monitor`` and the Monitoring page make of it."""
