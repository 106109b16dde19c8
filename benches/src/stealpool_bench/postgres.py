"""A throwaway PostgreSQL cluster for the database rows and their test.

``throwaway_cluster()`` runs ``initdb`` into a new temporary directory,
starts the server with ``pg_ctl`` listening on 127.0.0.1 (a free port) and
on a unix socket in that directory, loads TechEmpower's tables, and on the
way out (normally, on an error, on Ctrl-C or SIGTERM) stops the server and
deletes the directory. PostgreSQL refuses to run as root, so a bench run as
root runs every PostgreSQL program as ``nobody``, which then owns the
directory; nothing else of the machine's is touched.

Durability is switched off (``fsync``, ``synchronous_commit``): the data is
thrown away, and the rows measure the web stack and the pool, not the disk.
So is autovacuum: the ``updates`` cells leave a table's worth of dead rows
each, and a vacuum starting whenever its timer says would land in some
server's cells and not the other's. ``restore_tables`` vacuums between
samples instead, so each server starts from the same compact table.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from . import techempower
from .server_process import free_port

if TYPE_CHECKING:
    from pwd import struct_passwd

UNPRIVILEGED_USER = "nobody"
DATABASE = "postgres"
ROLE = "bench"
# Each web server opens a sync and an async pool (web_db_app.POOL_SIZE each), one server at a time.
MAX_CONNECTIONS = 200
COMMAND_TIMEOUT_S = 120.0
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": str(MAX_CONNECTIONS),
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "autovacuum": "off",
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed, or the cluster would not start; the message says which."""


@dataclass(frozen=True)
class Cluster:
    bindir: str
    directory: str  # the temporary directory: the data, the socket and the log
    port: int

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={DATABASE} user={ROLE}"

    @property
    def data(self) -> str:
        return os.path.join(self.directory, "data")

    @property
    def log(self) -> str:
        return os.path.join(self.directory, "server.log")


def _major_version(bindir: str) -> int:
    version = os.path.basename(os.path.dirname(bindir))
    return int(version) if version.isdigit() else 0


def find_bindir() -> str:
    """Where initdb and pg_ctl are: ``pg_config --bindir``, else the newest Debian-layout version."""
    if os.name != "posix":
        # Stopping the server and running it unprivileged are written for POSIX (signals, setuid).
        raise PostgresUnavailable("the throwaway PostgreSQL cluster runs on POSIX systems only")
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path is not None:
        candidates.append(os.path.dirname(initdb_on_path))
    for bindir in candidates:
        if bindir and all(os.access(os.path.join(bindir, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb and pg_ctl from pg_config or /usr/lib/postgresql)"
    )


def _server_user() -> struct_passwd | None:
    """The user PostgreSQL runs as: None for ourselves, ``nobody`` when we are root."""
    if os.geteuid() != 0:
        return None
    import pwd  # POSIX only, like the rest of this module; imported here so the bench imports everywhere

    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root and there is no {UNPRIVILEGED_USER!r} user to run PostgreSQL as")


def _run(cluster: Cluster, user: struct_passwd | None, *command: str) -> None:
    finished = subprocess.run(
        [os.path.join(cluster.bindir, command[0]), *command[1:]],
        cwd=cluster.directory,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C"},
        user=None if user is None else user.pw_uid,
        group=None if user is None else user.pw_gid,
        extra_groups=None if user is None else [],
    )
    if finished.returncode != 0:
        output = (finished.stdout + finished.stderr).strip()[-2000:]
        raise PostgresUnavailable(f"{command[0]} failed (exit {finished.returncode}): {output}")


def _configure(cluster: Cluster) -> None:
    settings = dict(SETTINGS, port=str(cluster.port), unix_socket_directories=f"'{cluster.directory}'")
    with open(os.path.join(cluster.data, "postgresql.conf"), "a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())


def _postmaster_pid(cluster: Cluster) -> int | None:
    try:
        with open(os.path.join(cluster.data, "postmaster.pid")) as pidfile:
            return int(pidfile.readline())
    except (OSError, ValueError):
        return None


def _stop(cluster: Cluster, user: struct_passwd | None) -> None:
    """Stops the server however it can: pg_ctl's fast shutdown, else SIGKILL to the postmaster's group."""
    pid = _postmaster_pid(cluster)
    if pid is None:
        return
    with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
        _run(cluster, user, "pg_ctl", "stop", "-D", cluster.data, "-m", "fast", "-w")
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        # The backends are the postmaster's children; it takes them down with it when killed.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_tables(cluster: Cluster) -> None:
    import psycopg

    with psycopg.connect(cluster.conninfo, autocommit=True) as connection:
        for statement in techempower.SCHEMA:
            connection.execute(statement)
        connection.execute(techempower.FILL_WORLD, {"rows": techempower.WORLD_ROWS})
        with connection.cursor() as cursor:
            cursor.executemany(techempower.INSERT_FORTUNE, techempower.FORTUNES)
        connection.execute("VACUUM ANALYZE")


def restore_tables(conninfo: str) -> None:
    """Rewrites ``world``, the table the updates write, without their dead rows, and refreshes its statistics."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM (FULL, ANALYZE) world")


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises SystemExit while the cluster lives, so the ``finally`` below still stops it."""

    def unwind(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, unwind)
    except ValueError:  # not the main thread: signals are not ours to take
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster with TechEmpower's tables; stopped and deleted on exit."""
    bindir = find_bindir()
    user = _server_user()
    with _sigterm_unwinds():
        directory = tempfile.mkdtemp(prefix="stealpool-bench-pg-")
        cluster = Cluster(bindir=bindir, directory=directory, port=free_port())
        try:
            if user is not None:
                os.chown(directory, user.pw_uid, user.pw_gid)
            _run(cluster, user, "initdb", "-D", cluster.data, "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync")
            _configure(cluster)
            try:
                _run(cluster, user, "pg_ctl", "start", "-D", cluster.data, "-l", cluster.log, "-w")
            except PostgresUnavailable as exc:
                raise PostgresUnavailable(f"{exc}\n{_tail(cluster.log)}") from None
            load_tables(cluster)
            yield cluster
        finally:
            try:
                _stop(cluster, user)
            finally:
                shutil.rmtree(directory, ignore_errors=True)


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as log:
            return log.read()[-2000:]
    except OSError:
        return ""
