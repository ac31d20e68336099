"""``sherlock serve``: the HTTP API (:mod:`sherlock.service.app`) on uvicorn."""

from __future__ import annotations

import argparse
import os


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sherlock.config import load_settings
    settings = load_settings(args.home)  # settings errors are reported now, not by each worker
    # each worker process builds its app from the environment, as the CLI reads it: hand the home down
    os.environ["SHERLOCK_HOME"] = str(settings.home)
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    print(f"Sherlock API on http://{args.host}:{args.port} (docs at /docs), workspace {settings.home}", flush=True)
    uvicorn.run("sherlock.service.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0
