"""A PostgreSQL primary and its streaming replica, started for a test on ports of their
own from the server binaries under /usr/lib/postgresql/*/bin, and removed after."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.observability.support import free_port

PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup")


def server_binaries() -> Path | None:
    """The newest PostgreSQL server's bin directory that has every program needed."""
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(Path(directory, name), os.X_OK) for name in PROGRAMS):
            return Path(directory)
    return None


@dataclass
class StreamingPair:
    bin: Path
    root: Path
    primary_port: int
    replica_port: int

    @classmethod
    def start(cls, bin: Path) -> StreamingPair:
        # The server refuses to run as root: as root, run it as the postgres user.
        root = Path(tempfile.mkdtemp(prefix="slaportal-pg-", dir="/tmp"))
        root.chmod(0o755)
        pair = cls(bin, root, free_port(), free_port())
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(root, account.pw_uid, account.pw_gid)
        try:
            pair._start()
        except BaseException:
            pair.stop()
            raise
        return pair

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _start(self) -> None:
        primary, replica = self.root / "primary", self.root / "replica"
        self._run(
            "initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.primary_port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\n"
                "max_wal_senders = 4\n"
                "fsync = off\n"
                "full_page_writes = off\n"
            )
        self._pg_ctl_start(primary)
        # A streaming replica of it: the base backup writes standby.signal and the
        # primary_conninfo that connects it back.
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(replica), "-R", "-X", "stream",
        )  # fmt: skip
        with open(replica / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.replica_port}\nhot_standby = on\n")
        self._pg_ctl_start(replica)
        deadline = time.monotonic() + 30
        while True:
            with psycopg.connect(self.url(self.replica_port, "postgres")) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not come up in recovery")
            time.sleep(0.2)

    def _pg_ctl_start(self, data: Path) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"), "-w", "start")

    def url(self, port: int, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{database}"

    def stop(self) -> None:
        for data in (self.root / "replica", self.root / "primary"):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
