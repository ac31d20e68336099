"""A throwaway PostgreSQL server on localhost, for the tests and the benchmarks (development tooling, not runtime
code: a team runs its own server, see scripts/team-stack.sh).

    with throwaway_postgres() as url:      # postgresql+psycopg://postgres@127.0.0.1:PORT/sherlock
        ...

``initdb`` into a fresh folder under /tmp owned by the server's user (a pytest temp folder may not be traversable by
``postgres``), trust authentication, ``pg_ctl start`` on a free localhost port with its socket in that folder and
``-F`` (no fsync: a throwaway server's data need not survive a power cut), then a ``sherlock`` database. PostgreSQL
refuses to run as root, so as root its programs run as the ``postgres`` OS user. The server is stopped
(``pg_ctl stop -m fast``) and the folder removed at the end. Starting takes about two seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or one of its programs failed (the message holds its error and the server log's tail)."""


def postgresql_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them in /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if not found:
        raise PostgresError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make postgres` "
                            "(scripts/install-postgresql.sh)")
    return found[-1].parent


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` as the ``postgres`` OS user when we are root, else as ourselves."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@contextmanager
def throwaway_postgres(prefix: str = "sherlock-pg-") -> Iterator[str]:
    """Start a server as the module docstring says; yield the URL of its ``sherlock`` database."""
    programs = postgresql_bin()
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        import pwd
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = folder / "data", folder / "server.log"

    def run(program: str, *args: object) -> None:
        done = subprocess.run(as_server_user([str(programs / program), *map(str, args)]), capture_output=True,
                              text=True, timeout=120, cwd=folder)
        if done.returncode:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresError(f"{program} failed (exit code {done.returncode}): {done.stderr.strip()[-2000:]}\n"
                                f"{server_log}")

    started = False
    try:
        run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
        run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -F", "start")
        started = True
        run("createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "sherlock")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/sherlock"
    finally:
        if started:
            subprocess.run(as_server_user([str(programs / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, timeout=60, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)
