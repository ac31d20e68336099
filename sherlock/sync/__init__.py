"""Live sync from incident tools' REST APIs: ``sherlock sync SOURCE`` (issue #12, scope 4).

Layers, each small: :mod:`~sherlock.sync.http` (the one HTTP client: timeouts, bounded retries, ``Retry-After``,
backoff), :mod:`~sherlock.sync.watermarks` (each source's watermark and resume point, in ``<home>/sync.sqlite``), one
module per source that pages through its API as the vendor documents it (``pagerduty``, ``jira``, ``servicenow``,
``github``, ``incidentio``), and :mod:`~sherlock.sync.run` (fetch → the existing importers → validate → store, with
a summary). Importing this package imports nothing heavy: the command line reads :data:`NAMES` for its choices.

    from sherlock.sync.run import sync_source
    summary = sync_source(workspace, "jira", query="project = OPS")
"""

#: The sources ``sherlock sync`` knows, in the order its help lists them (the keys of ``sherlock.sync.run.SOURCES``).
NAMES = ("pagerduty", "jira", "servicenow", "github", "incidentio")
