"""The local Spark Thrift server: start, stop and status.

Spark's embedded metastore (Derby) admits one process at a time, yet segflow queries the
warehouse while dbt runs as a subprocess. So locally one long-lived HiveThriftServer2, started
from pyspark's own jars, owns the metastore and everything else connects to it over Thrift:
dbt through dbt-spark's `thrift` method, segflow through PyHive (segflow/spark/connection.py).
A read-only command reuses the running server instead of paying a JVM start.

Settings (environment; relative paths resolve against the working directory, as
segflow/settings.py does for the DuckDB file):

    SEGFLOW_SPARK_DIR            data/spark: metastore_db/, warehouse/, staging/, logs/, server.pid
    SEGFLOW_SPARK_MASTER         local[2]
    SEGFLOW_SPARK_HOST           127.0.0.1
    SEGFLOW_SPARK_PORT           10009
    SEGFLOW_SPARK_DRIVER_MEMORY  2g
    SEGFLOW_SPARK_SCHEMA         main (the output schema, as on DuckDB)

A host that is not this machine is a cluster's Thrift server: segflow connects to it and
never starts or stops anything there.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import SettingsError, WarehouseUnavailable

log = logging.getLogger(__name__)

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
APP_NAME = "segflow-thrift-server"
DEFAULT_PORT = 10009
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

# Spark settings for one small machine. Spark 4 defaults already make `CREATE OR REPLACE VIEW`
# and `DROP DATABASE ... CASCADE` work on the Hive (Derby) metastore, and create tables
# `USING parquet` (spark.sql.legacy.createHiveTableByDefault is false).
BASE_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.catalogImplementation": "hive",
    "spark.sql.sources.default": "parquet",
    # Small tables: no broadcast thresholds to tune, but adaptive execution coalesces the
    # shuffle partitions further.
    "spark.sql.adaptive.enabled": "true",
    # Thrift sessions of dbt and segflow share one Spark application but not temp views.
    "spark.sql.hive.thriftServer.singleSession": "false",
    "spark.driver.extraJavaOptions": "-Dderby.system.home={dir}",
    "spark.hadoop.javax.jdo.option.ConnectionURL": (
        "jdbc:derby:;databaseName={dir}/metastore_db;create=true"
    ),
    "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
    "spark.hadoop.hive.metastore.schema.verification": "false",
    "spark.sql.warehouse.dir": "{dir}/warehouse",
    # A long-lived server runs thousands of statements: its status store (kept even without
    # the UI) must forget old jobs, or the driver runs out of heap (measured: 1 GB gone after
    # ~15 minutes of a test session, "OutOfMemoryError ... spark-listener-group-appStatus").
    "spark.ui.retainedJobs": "50",
    "spark.ui.retainedStages": "50",
    "spark.ui.retainedTasks": "2000",
    "spark.sql.ui.retainedExecutions": "20",
    "spark.ui.retainedDeadExecutors": "10",
    "spark.worker.ui.retainedExecutors": "10",
    "spark.sql.thriftserver.ui.retainedStatements": "50",
    "spark.sql.thriftserver.ui.retainedSessions": "20",
}


@dataclass(frozen=True)
class SparkServerSettings:
    """Where the Spark Thrift server is, and for a local one, how to run it."""

    spark_dir: Path
    master: str = "local[2]"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    driver_memory: str = "2g"
    schema: str = "main"
    extra_conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, base: Path | None = None
    ) -> SparkServerSettings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return (env.get(name) or "").strip() or default

        raw_port = get("SEGFLOW_SPARK_PORT", str(DEFAULT_PORT))
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise SettingsError(
                f"SEGFLOW_SPARK_PORT={raw_port!r} must be a port number, such as {DEFAULT_PORT}."
            )
        schema = get("SEGFLOW_SPARK_SCHEMA", "main")
        if not schema.replace("_", "").isalnum() or schema.lower() == "default":
            raise SettingsError(
                f"SEGFLOW_SPARK_SCHEMA={schema!r} must be a plain schema name such as 'main' "
                "(letters, digits, _), and not 'default'."
            )
        spark_dir = Path(get("SEGFLOW_SPARK_DIR", "data/spark"))
        if not spark_dir.is_absolute():
            spark_dir = (base or Path.cwd()) / spark_dir
        return cls(
            spark_dir=spark_dir.resolve(),
            master=get("SEGFLOW_SPARK_MASTER", "local[2]"),
            host=get("SEGFLOW_SPARK_HOST", "127.0.0.1"),
            port=int(raw_port),
            driver_memory=get("SEGFLOW_SPARK_DRIVER_MEMORY", "2g"),
            schema=schema.lower(),
        )

    # -- layout of SEGFLOW_SPARK_DIR ----------------------------------------------------------
    @property
    def metastore_dir(self) -> Path:
        return self.spark_dir / "metastore_db"

    @property
    def warehouse_dir(self) -> Path:
        return self.spark_dir / "warehouse"

    @property
    def staging_dir(self) -> Path:
        """Parquet files of bulk loads; the server reads them, so it must see this folder."""
        return self.spark_dir / "staging"

    @property
    def log_file(self) -> Path:
        return self.spark_dir / "logs" / "thriftserver.log"

    @property
    def pid_file(self) -> Path:
        return self.spark_dir / "server.pid"

    @property
    def is_local(self) -> bool:
        """A server on this machine, which segflow may start and stop."""
        return self.host in LOCAL_HOSTS

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def dbt_env(self) -> dict[str, str]:
        """The environment the `spark` output of dbt_project/profiles.yml reads."""
        return {
            "SEGFLOW_SPARK_HOST": self.host,
            "SEGFLOW_SPARK_PORT": str(self.port),
            "SEGFLOW_SPARK_SCHEMA": self.schema,
        }

    def conf(self) -> dict[str, str]:
        values = {k: v.format(dir=self.spark_dir) for k, v in BASE_CONF.items()}
        values.update(self.extra_conf)
        return values


@dataclass(frozen=True)
class ServerStatus:
    address: str
    reachable: bool  # accepts TCP connections
    pid: int | None  # the local server segflow started, when it is running
    log_file: Path | None

    @property
    def managed(self) -> bool:
        return self.pid is not None

    def describe(self) -> str:
        state = "running" if self.reachable else ("starting" if self.pid else "not running")
        owner = f" (pid {self.pid}, log {self.log_file})" if self.pid else ""
        return f"Spark Thrift server at {self.address}: {state}{owner}"


# -- status ------------------------------------------------------------------------------------


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _our_pid(settings: SparkServerSettings) -> int | None:
    """The pid in the pid file, if that process is still our Thrift server."""
    try:
        pid = int(settings.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        try:  # no /proc (macOS): trust the pid file while the process lives
            os.kill(pid, 0)
        except OSError:
            return None
        return pid
    if THRIFT_SERVER_CLASS in cmdline and str(settings.spark_dir) in cmdline:
        return pid
    return None


def status(settings: SparkServerSettings | None = None) -> ServerStatus:
    settings = settings or SparkServerSettings.from_env()
    pid = _our_pid(settings) if settings.is_local else None
    return ServerStatus(
        address=settings.address,
        reachable=_reachable(settings.host, settings.port),
        pid=pid,
        log_file=settings.log_file if pid else None,
    )


# -- start -------------------------------------------------------------------------------------


def spark_home() -> Path:
    """pyspark's folder: its bin/spark-submit and jars/ are a whole Spark distribution."""
    home = os.environ.get("SPARK_HOME")
    if home:
        return Path(home)
    try:
        import pyspark
    except ImportError:
        raise WarehouseUnavailable(
            "Spark is not installed: run `./bootstrap --with spark` (the optional `spark` extra)."
        ) from None
    return Path(pyspark.__file__).resolve().parent


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise WarehouseUnavailable(
            "Spark needs Java 17 or newer: install a JDK (e.g. `apt-get install openjdk-17-jre-headless`) "
            "or set JAVA_HOME."
        )


def server_command(settings: SparkServerSettings) -> list[str]:
    """The spark-submit command line of the local Thrift server."""
    home = spark_home()
    jars = home / "jars"
    if not any(jars.glob("spark-hive-thriftserver_*.jar")):
        raise WarehouseUnavailable(
            f"{jars} has no spark-hive-thriftserver jar: this pyspark cannot run a Thrift server."
        )
    command = [
        str(home / "bin" / "spark-submit"),
        "--master",
        settings.master,
        "--name",
        APP_NAME,
        "--driver-memory",
        settings.driver_memory,
        "--class",
        THRIFT_SERVER_CLASS,
    ]
    for key, value in settings.conf().items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    command += [
        "--hiveconf",
        f"hive.server2.thrift.port={settings.port}",
        "--hiveconf",
        f"hive.server2.thrift.bind.host={settings.host}",
    ]
    return command


@contextlib.contextmanager
def _start_lock(settings: SparkServerSettings) -> Iterator[None]:
    """One starter at a time: two segflow commands that both find no server start one."""
    settings.spark_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.spark_dir / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    errors = [line for line in text if " ERROR " in line or "Exception" in line]
    return "\n".join((errors or text)[-lines:])


def _launch(settings: SparkServerSettings) -> subprocess.Popen:
    _check_java()
    command = server_command(settings)
    for folder in (settings.warehouse_dir, settings.staging_dir, settings.log_file.parent):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.log_file.exists():  # keep the previous run's log beside the new one
        settings.log_file.replace(settings.log_file.with_suffix(".log.1"))
    env = dict(os.environ)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env["SPARK_HOME"] = str(spark_home())
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    with open(settings.log_file, "ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command,
            cwd=settings.spark_dir,  # derby.log, spark-warehouse fallbacks land here
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the segflow command that started it
        )
    settings.pid_file.write_text(f"{process.pid}\n")
    return process


def _wait_ready(
    settings: SparkServerSettings, process: subprocess.Popen | None, timeout: float
) -> None:
    """Until the port accepts connections and a first statement runs."""
    deadline = time.monotonic() + timeout
    while not _reachable(settings.host, settings.port, timeout=0.5):
        if process is not None and process.poll() is not None:
            raise WarehouseUnavailable(
                f"the Spark Thrift server exited with code {process.returncode} while "
                f"starting; its log {settings.log_file} ends:\n{_log_tail(settings.log_file)}"
            )
        if time.monotonic() > deadline:
            raise WarehouseUnavailable(
                f"the Spark Thrift server did not open {settings.address} within "
                f"{timeout:.0f} s; see {settings.log_file}"
            )
        time.sleep(0.5)
    from pyhive import hive  # the extra's client (a SparkConnection would import this module)

    while True:  # the port opens a moment before the first session is served
        try:
            conn = hive.connect(host=settings.host, port=settings.port, username="segflow")
            try:
                cursor = conn.cursor()
                cursor.execute("select 1")
                cursor.fetchall()
            finally:
                conn.close()
            return
        except Exception:  # noqa: BLE001 - thrift's transport errors: not serving yet
            if time.monotonic() > deadline:
                raise WarehouseUnavailable(
                    f"the Spark Thrift server at {settings.address} opened its port but "
                    f"serves no session; see {settings.log_file}"
                ) from None
            time.sleep(0.5)


def start(settings: SparkServerSettings | None = None, timeout: float = 180.0) -> float:
    """Start the local Thrift server in the background unless it runs; wait until it serves.
    Returns the seconds it took (0.0 when it was running)."""
    settings = settings or SparkServerSettings.from_env()
    if not settings.is_local:
        raise WarehouseUnavailable(
            f"SEGFLOW_SPARK_HOST={settings.host} is not this machine: segflow starts a Thrift "
            "server only locally; start the cluster's Thrift server there."
        )
    began = time.monotonic()
    with _start_lock(settings):
        if _reachable(settings.host, settings.port):
            if _our_pid(settings) is None:
                log.info("port %s is served by a process segflow did not start", settings.port)
            return 0.0
        pid = _our_pid(settings)
        process = None if pid else _launch(settings)  # a pid: ours, still starting
        log.info(
            "starting the Spark Thrift server at %s (log %s)", settings.address, settings.log_file
        )
        _wait_ready(settings, process, timeout)
    took = time.monotonic() - began
    log.info("Spark Thrift server ready at %s after %.1f s", settings.address, took)
    return took


def ensure_running(settings: SparkServerSettings | None = None, timeout: float = 180.0) -> float:
    """The server is reachable afterwards: a local one is started when needed, a remote one
    only checked. Returns the seconds spent starting (0.0 when it was already running)."""
    settings = settings or SparkServerSettings.from_env()
    if _reachable(settings.host, settings.port):
        return 0.0
    if not settings.is_local:
        raise WarehouseUnavailable(
            f"cannot reach the Spark Thrift server at {settings.address} (set "
            "SEGFLOW_SPARK_HOST and SEGFLOW_SPARK_PORT)"
        )
    return start(settings, timeout)


# -- stop --------------------------------------------------------------------------------------


def stop(settings: SparkServerSettings | None = None, timeout: float = 60.0) -> bool:
    """Stop the local server segflow started (SIGTERM, then SIGKILL after `timeout`).
    Returns False when none of ours was running. Never touches another process."""
    settings = settings or SparkServerSettings.from_env()
    pid = _our_pid(settings)
    if pid is None:
        settings.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            log.warning("the Spark Thrift server (pid %s) ignored SIGTERM: killing it", pid)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.2)
    settings.pid_file.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        if state.read_text().split(") ", 1)[1].startswith("Z"):
            return False  # a zombie: ended, only not yet reaped by its parent
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m segflow.spark.server start|stop|status` (a stop-gap until the CLI has it)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = SparkServerSettings.from_env()
    action = args[0] if args else "status"
    if action == "start":
        took = ensure_running(settings)
        print(f"{status(settings).describe()} (start took {took:.1f} s)")
    elif action == "stop":
        print("stopped" if stop(settings) else "no server of segflow's was running")
    elif action == "status":
        print(status(settings).describe())
    else:
        print("usage: python -m segflow.spark.server start|stop|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
