"""The local stack: infrastructure, provisioning, migrations, seeds, and the whole fleet.

Commands (the Makefile wraps them):
  run       start everything and stream prefixed logs until Ctrl-C, then stop everything
  up        the same, detached; returns once the gateway's /readyz is green
  down      stop a detached fleet and the infrastructure; leaves no process behind
  migrate   provision schemas/roles, create topics, run every service's migrations
  seed      load demo data (each service's `<package>.seed` module, when it has one)
  status    what is running
  test      start an isolated test infrastructure from empty data, migrate, run pytest, stop it
  fleet     run only the services (against AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP)

AINTECH_DATABASE_URL (an administrator login) and AINTECH_KAFKA_BOOTSTRAP point the stack at
existing servers instead of the embedded ones.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "libs" / "shared" / "src"))
sys.path.insert(0, str(ROOT / "libs" / "contracts" / "src"))

import infra  # noqa: E402
from aintech_contracts.fleet import FLEET, ServiceSpec  # noqa: E402

LOCAL = ROOT / ".local"
# Servers named by the caller's environment are theirs: never started or stopped here. Read once,
# before this process exports the addresses of the servers it starts itself.
EXTERNAL_DATABASE = os.environ.get("AINTECH_DATABASE_URL")
EXTERNAL_KAFKA = os.environ.get("AINTECH_KAFKA_BOOTSTRAP")
CACHE = LOCAL / "cache" / f"kafka-{infra.KAFKA_VERSION}"
_COLOURS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]


@dataclass(frozen=True)
class Profile:
    """Where a stack keeps its data and which ports it uses."""

    name: str
    pg_port: int
    kafka_port: int
    controller_port: int
    port_offset: int

    @property
    def data_dir(self) -> Path:
        return LOCAL / self.name

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "fleet.json"

    def service_port(self, spec: ServiceSpec) -> int:
        return spec.port + self.port_offset


# AINTECH_STACK_PORT_SHIFT moves every port of the test and bench profiles (Postgres, Kafka, the
# fleet), so two checkouts can run their suites side by side on one machine. Unshifted, every port
# is below Linux's range of automatically assigned client ports (32768-60999): a server restarted
# mid-test (the outage drills) cannot find its port taken by some connection's local end.
PORT_SHIFT = int(os.environ.get("AINTECH_STACK_PORT_SHIFT", "0") or 0)
MAX_PORT_SHIFT = 36000  # the highest shifted port (bench Kafka's controller, 29393) stays below 65536
if not 0 <= PORT_SHIFT <= MAX_PORT_SHIFT:
    raise SystemExit(f"AINTECH_STACK_PORT_SHIFT must be between 0 and {MAX_PORT_SHIFT} (got {PORT_SHIFT})")
PROFILES = {
    "dev": Profile("dev", pg_port=5433, kafka_port=9092, controller_port=9093, port_offset=0),
    "test": Profile(
        "test",
        pg_port=25432 + PORT_SHIFT,
        kafka_port=29192 + PORT_SHIFT,
        controller_port=29193 + PORT_SHIFT,
        port_offset=10000 + PORT_SHIFT,
    ),
    "bench": Profile(
        "bench",
        pg_port=25532 + PORT_SHIFT,
        kafka_port=29392 + PORT_SHIFT,
        controller_port=29393 + PORT_SHIFT,
        port_offset=20000 + PORT_SHIFT,
    ),
}


def say(message: str) -> None:
    print(f"\033[1m[stack]\033[0m {message}", flush=True)


# --- infrastructure ------------------------------------------------------------------------------


def start_infra(profile: Profile) -> dict[str, str]:
    """Start (or reuse) Postgres and Kafka; returns the AINTECH_* variables that point at them."""
    env: dict[str, str] = {}
    url = EXTERNAL_DATABASE
    if url:
        say(f"using Postgres from AINTECH_DATABASE_URL ({_redact(url)})")
    else:
        t0 = time.monotonic()
        url = infra.start_postgres(profile.data_dir / "postgres", profile.pg_port)
        say(f"Postgres ready on 127.0.0.1:{profile.pg_port} in {time.monotonic() - t0:.1f}s")
    env["AINTECH_DATABASE_URL"] = url
    bootstrap = EXTERNAL_KAFKA
    if bootstrap:
        say(f"using Kafka from AINTECH_KAFKA_BOOTSTRAP ({bootstrap})")
    else:
        t0 = time.monotonic()
        jars = infra.ensure_kafka_jars(CACHE)
        bootstrap = infra.start_kafka(
            profile.data_dir / "kafka", profile.kafka_port, profile.controller_port, jars=jars
        )
        say(f"Kafka ready on {bootstrap} in {time.monotonic() - t0:.1f}s")
    env["AINTECH_KAFKA_BOOTSTRAP"] = bootstrap
    return env


def stop_infra(profile: Profile) -> None:
    """Stop the embedded servers of ``profile`` (never the ones the environment pointed at)."""
    if not EXTERNAL_KAFKA:
        infra.stop_kafka(profile.data_dir / "kafka")
    if not EXTERNAL_DATABASE:
        infra.stop_postgres(profile.data_dir / "postgres")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def migrate(env: dict[str, str]) -> None:
    """Provision schemas and roles, create topics, and upgrade every service to head."""
    import asyncio

    from aintech_contracts.events import all_topics
    from aintech_shared.provisioning import provision

    os.environ.update(env)
    changes = asyncio.run(provision(env["AINTECH_DATABASE_URL"]))
    say("provisioned " + (", ".join(changes) if changes else "schemas and roles (already there)"))
    topics = all_topics()
    infra.ensure_topics(env["AINTECH_KAFKA_BOOTSTRAP"], topics)
    say(f"{len(topics)} Kafka topics in place")
    from alembic import command
    from alembic.config import Config

    for spec in FLEET:
        ini = ROOT / "services" / spec.name / "alembic.ini"
        t0 = time.monotonic()
        command.upgrade(Config(str(ini)), "head")
        say(f"migrated {spec.slug:<14} ({spec.schema}) in {time.monotonic() - t0:.2f}s")


def seed(env: dict[str, str], profile: Profile) -> None:
    """Run each service's seed module (idempotent demo data)."""
    # analytics seeds its own store: the directory the stack's analytics API opens (Fleet.child_env)
    env = {**env, "ANALYTICS_CHDB_PATH": str(profile.data_dir / "analytics-chdb")}
    for spec in FLEET:
        module = f"{spec.name}.seed"
        if importlib.util.find_spec(module) is None:
            continue
        say(f"seeding {spec.slug}")
        subprocess.run([sys.executable, "-m", module], env={**os.environ, **env}, check=True)


# --- the fleet -----------------------------------------------------------------------------------


class Fleet:
    """Every service's API and worker as child processes with prefixed, streamed logs."""

    def __init__(self, profile: Profile, env: dict[str, str], log: IO[str] | None = None) -> None:
        self.profile = profile
        self.env = env
        self.log = log or sys.stdout
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def child_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.setdefault("AINTECH_LOG_JSON", "true")
        # The object store every service shares (claim documents, recordings): one directory.
        env.setdefault("AINTECH_OBJECT_STORE_ROOT", str(self.profile.data_dir / "objects"))
        auth = next(s for s in FLEET if s.name == "authenticator")
        env["AINTECH_JWKS_URL"] = f"http://127.0.0.1:{self.profile.service_port(auth)}/.well-known/jwks.json"
        env["GATEWAY_PORT_OFFSET"] = str(self.profile.port_offset)
        for spec in FLEET:
            env[f"{spec.env_prefix}PORT"] = str(self.profile.service_port(spec))
        env["PYTHONUNBUFFERED"] = "1"
        # chDB opens a directory for one process: each stack's analytics API has its own, never the
        # one of the process that started the stack (a test run's own in-process apps use theirs).
        env["ANALYTICS_CHDB_PATH"] = str(self.profile.data_dir / "analytics-chdb")
        return env

    def start(self) -> None:
        env = self.child_env()
        for spec in FLEET:
            commands = {
                spec.slug: [sys.executable, "-m", spec.name],
                f"{spec.slug}-worker": [sys.executable, "-m", f"{spec.name}.worker"],
            }
            for label, cmd in commands.items():
                proc = subprocess.Popen(
                    cmd,
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self.procs[label] = proc
                threading.Thread(target=self._pump, args=(label, proc), daemon=True).start()
        self._write_pids()

    def _write_pids(self) -> None:
        self.profile.data_dir.mkdir(parents=True, exist_ok=True)
        self.profile.pid_file.write_text(
            json.dumps({"launcher": os.getpid(), "children": {k: p.pid for k, p in self.procs.items()}})
        )

    def _pump(self, label: str, proc: subprocess.Popen[bytes]) -> None:
        colour = _COLOURS[hash(label.removesuffix("-worker")) % len(_COLOURS)]
        prefix = f"\033[{colour}m{label:<22}|\033[0m "
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            with self._lock:
                self.log.write(prefix + line + "\n")
                self.log.flush()

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until the gateway reports every service ready (or raise with what is not)."""
        url = f"http://127.0.0.1:{self.profile.service_port(FLEET[0])}/readyz"
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            dead = [k for k, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"exited during start-up: {', '.join(dead)}")
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                body = json.loads(exc.read() or b"{}")
                last = ", ".join(k for k, v in body.get("services", {}).items() if not v.get("ready"))
            except OSError as exc:
                last = str(exc)
            time.sleep(1)
        raise TimeoutError(f"fleet not ready after {timeout:.0f}s; not ready: {last}")

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.profile.pid_file.unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def print_banner(profile: Profile) -> None:
    gw = profile.service_port(FLEET[0])
    lines = [
        "",
        "AINTECH is up.",
        f"  gateway      http://127.0.0.1:{gw}         (API docs: http://127.0.0.1:{gw}/docs)",
        f"  readiness    http://127.0.0.1:{gw}/readyz",
    ]
    for spec in FLEET[1:]:
        lines.append(
            f"  {spec.slug:<12} http://127.0.0.1:{profile.service_port(spec)}  "
            f"-> via gateway /api/{spec.route}/"
        )
    lines += [
        f"  postgres     127.0.0.1:{profile.pg_port} (db aintech)   kafka 127.0.0.1:{profile.kafka_port}",
        f"  data         {profile.data_dir}",
        "  demo logins  admin@aintech.com / $AINTECH_SEED_PASSWORD (see README)",
        "",
    ]
    print("\n".join(lines), flush=True)


# --- commands ------------------------------------------------------------------------------------


def cmd_run(profile: Profile, *, with_infra: bool = True) -> int:
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    env = start_infra(profile) if with_infra else _env_from_os()
    fleet: Fleet | None = None
    try:
        if with_infra:
            migrate(env)
            seed(env, profile)
        fleet = Fleet(profile, env)
        say("starting the fleet")
        fleet.start()
        fleet.wait_ready()
        print_banner(profile)
        while not stop_requested.is_set():
            if not fleet.alive():
                dead = [k for k, p in fleet.procs.items() if p.poll() is not None]
                say(f"stopping: {', '.join(dead)} exited")
                return 1
            stop_requested.wait(1)
        say("stopping (Ctrl-C)")
        return 0
    finally:
        if fleet is not None:
            fleet.stop()
            say("fleet stopped")
        if with_infra:
            stop_infra(profile)
            say("infrastructure stopped")


def _env_from_os() -> dict[str, str]:
    env = {k: os.environ[k] for k in ("AINTECH_DATABASE_URL", "AINTECH_KAFKA_BOOTSTRAP") if k in os.environ}
    if len(env) != 2:
        raise SystemExit("fleet: AINTECH_DATABASE_URL and AINTECH_KAFKA_BOOTSTRAP must be set")
    return env


def cmd_up(profile: Profile) -> int:
    profile.data_dir.mkdir(parents=True, exist_ok=True)
    if _launcher_alive(profile):
        say("already running; `make down` first to restart")
        return 0
    log_path = profile.data_dir / "fleet.log"
    with log_path.open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "run", "--profile", profile.name],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    say(f"launcher pid {launcher.pid}; logs in {log_path}")
    url = f"http://127.0.0.1:{profile.service_port(FLEET[0])}/readyz"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            say(f"launcher exited with {launcher.returncode}; last lines of {log_path}:")
            print("\n".join(log_path.read_text(errors="replace").splitlines()[-30:]))
            return 1
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    print_banner(profile)
                    return 0
        except OSError:
            pass
        time.sleep(2)
    say("timed out waiting for /readyz")
    return 1


def _launcher_alive(profile: Profile) -> bool:
    try:
        pid = json.loads(profile.pid_file.read_text())["launcher"]
        os.kill(pid, 0)
        return True
    except (OSError, ValueError, KeyError):
        return False


def cmd_down(profile: Profile) -> int:
    info: dict[str, object] = {}
    if profile.pid_file.exists():
        info = json.loads(profile.pid_file.read_text())
    launcher = info.get("launcher")
    if isinstance(launcher, int):
        try:
            os.kill(launcher, signal.SIGTERM)
            say(f"stopping launcher {launcher}")
            for _ in range(60):
                os.kill(launcher, 0)
                time.sleep(0.5)
        except ProcessLookupError:
            pass
    children = info.get("children")
    if isinstance(children, dict):
        for pid in children.values():
            _signal_group(int(pid), signal.SIGKILL)
    profile.pid_file.unlink(missing_ok=True)
    stop_infra(profile)
    say("down: no fleet, Kafka or Postgres process left for profile " + profile.name)
    return 0


def cmd_status(profile: Profile) -> int:
    pg = infra.postgres_running(profile.data_dir / "postgres")
    kafka = infra.kafka_running(profile.data_dir / "kafka")
    print(f"postgres: {'up' if pg else 'down'}   kafka: {'up' if kafka else 'down'}")
    print(f"fleet launcher: {'up' if _launcher_alive(profile) else 'down'}")
    return 0


def fresh_test_data(profile: Profile) -> None:
    """Start a test run from empty embedded servers: rows a previous run committed (accounts,
    rate-limit counters, events on topics) must not decide this run's outcome."""
    stop_infra(profile)
    if not EXTERNAL_DATABASE:
        shutil.rmtree(profile.data_dir / "postgres", ignore_errors=True)
    if not EXTERNAL_KAFKA:
        shutil.rmtree(profile.data_dir / "kafka", ignore_errors=True)


def cmd_test(profile: Profile, pytest_args: list[str], keep: bool) -> int:
    fresh_test_data(profile)
    env = start_infra(profile)
    try:
        migrate(env)
        os.environ.update(env)
        os.environ["AINTECH_ENV"] = "test"
        os.environ["AINTECH_E2E_PORT_OFFSET"] = str(PROFILES["test"].port_offset + 100)
        result = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, check=False)
        return result.returncode
    finally:
        if not keep:
            stop_infra(profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", choices=["run", "up", "down", "migrate", "seed", "status", "test", "fleet"]
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None)
    parser.add_argument("--port-offset", type=int, default=None, help="fleet: add to every service port")
    parser.add_argument("--keep", action="store_true", help="test: leave the test infrastructure running")
    args, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--":
        rest = rest[1:]
    profile = PROFILES[args.profile or ("test" if args.command == "test" else "dev")]
    if args.port_offset is not None:
        profile = Profile(
            profile.name, profile.pg_port, profile.kafka_port, profile.controller_port, args.port_offset
        )
    if args.command == "run":
        return cmd_run(profile)
    if args.command == "fleet":
        return cmd_run(profile, with_infra=False)
    if args.command == "up":
        return cmd_up(profile)
    if args.command == "down":
        return cmd_down(profile)
    if args.command == "status":
        return cmd_status(profile)
    if args.command == "test":
        return cmd_test(profile, rest, args.keep)
    env = start_infra(profile)
    if args.command == "migrate":
        migrate(env)
    else:
        seed(env, profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
