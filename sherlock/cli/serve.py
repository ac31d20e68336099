"""``sherlock serve``: the HTTP API (:mod:`sherlock.service.app`) on uvicorn."""

from __future__ import annotations

import argparse
import os
import sys


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sherlock.config import load_settings
    settings = load_settings(args.home)  # settings errors are reported now, not by each worker
    # each worker process builds its app from the environment, as the CLI reads it: hand the home down
    os.environ["SHERLOCK_HOME"] = str(settings.home)
    if args.workers > 1 and not settings.embed_threads:  # each worker its share of the cores (see create_session)
        from sherlock.embed.onnx_minilm import usable_cores
        os.environ["SHERLOCK_EMBED_THREADS"] = str(max(1, usable_cores() // args.workers))
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    loopback = args.host in ("127.0.0.1", "::1", "localhost")
    if settings.api_auth == "off" and not loopback:
        raise ValueError(f"api_auth is off: anyone who reaches {args.host}:{args.port} could read, add and delete "
                         "incidents; serve on 127.0.0.1, or set SHERLOCK_API_AUTH=tokens and make tokens with "
                         "sherlock token create NAME --scope read")
    if settings.api_auth == "tokens":
        from sherlock.storage.tokens import open_tokens
        tokens = open_tokens(settings)
        live = [token for token in tokens.list() if token.revoked_at is None]
        tokens.close()
        if not live:
            print("no API tokens yet: every /v1 route will answer 401 until you make one with "
                  "sherlock token create NAME --scope read|write|admin", file=sys.stderr, flush=True)
    print(f"Sherlock API on http://{args.host}:{args.port} (docs at /docs), workspace {settings.home}", flush=True)
    uvicorn.run("sherlock.service.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0
