"""Spark SQL over our Parquet files: the queries of ``comparator/analysis/sql.py``, made Spark's
by ``sql.spark_dialect`` (one text, two dialects), on a local Spark (``master``, default
``local[2]``), a cluster's master URL, or a Spark Connect server (``remote``: ``sc://host:port``,
or ``local[N]`` for a Connect server started in this process).

pyspark is optional (``requirements-scale.txt``) and imported here only when a run asks for
Spark; a local Spark also needs Java 17 (a Connect client does not). The session a run starts
is quiet (log level ERROR, no progress bar), has no web UI and binds to 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from comparator.analysis.sql import COLUMNS, Execute, spark_dialect

LOCAL = "local[2]"
VIEW = "comparator_examples"  # the temporary view ``{source}`` names
INSTALL = "pip install -r requirements-scale.txt"
# A session we start: no UI, nothing listening beyond this machine, no event log, few shuffle
# partitions (Spark's 200 tiny tasks cost more than the work of a million examples).
CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.connect.grpc.binding.address": "127.0.0.1",
    "spark.eventLog.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}
LOG4J = """rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def require(remote: str | None = None) -> None:
    """A one-line ValueError saying what to install when Spark cannot run here: pyspark (and,
    for a Connect client, its grpc packages) or, for a Spark in this process, Java."""
    try:
        import pyspark  # noqa: F401
        if remote:
            import grpc  # noqa: F401  (pyspark[connect])
    except ImportError as e:
        raise ValueError(f"--engine spark needs pyspark ({e.name} is not installed): "
                         f"{INSTALL}") from None
    if (not remote or not remote.startswith("sc://")) and not _java():
        raise ValueError("--engine spark needs Java 17 (no `java` on PATH or in JAVA_HOME): "
                         "install it, e.g. apt-get install openjdk-17-jre-headless, or use "
                         "--spark-remote sc://HOST:PORT")


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").is_file()))


def _log_config() -> Path:
    """A log4j2 configuration that keeps Spark's JVM at ERROR (written once per user)."""
    path = Path(tempfile.gettempdir()) / f"comparator-spark-log4j2-{os.getuid()}.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != LOG4J:
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_text(LOG4J, encoding="utf-8")
        tmp.replace(path)
    return path


def jvm_log() -> Path:
    """Where the JVM a session starts writes its own output (banners, errors)."""
    return Path(tempfile.gettempdir()) / f"comparator-spark-{os.getuid()}.log"


@contextmanager
def _jvm_output() -> Iterator[None]:
    """While a session starts: file descriptor 2 on ``jvm_log()``, so that the JVM started
    then (which inherits it) writes there, not on the user's terminal ("Using incubator
    modules", pyspark's warnings). Restored on exit; a failed start names the log."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(jvm_log(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(fd, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3: not used here
            yield
    except Exception as e:  # noqa: BLE001
        raise _one_line(e, f" (the JVM's output: {jvm_log()})") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def session(master: str | None = None, remote: str | None = None) -> Any:
    """A SparkSession: on ``master`` (default ``local[2]``), or a Spark Connect client of
    ``remote`` (``sc://...``; ``local[N]`` starts a Connect server in this process)."""
    require(remote)
    with _jvm_output():
        return _session(master, remote)


def _session(master: str | None, remote: str | None) -> Any:
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("comparator")
    if remote and remote.startswith("sc://"):  # someone else's server: its settings are its own
        return builder.remote(remote).getOrCreate()
    builder = builder.remote(remote) if remote else builder.master(master or LOCAL)
    conf = {**CONF, "spark.driver.extraJavaOptions":
            f"-Dlog4j2.configurationFile=file:{_log_config()} -Djava.net.preferIPv4Stack=true"}
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def spark_execute(files: list[Path], master: str | None = None, remote: str | None = None,
                  spark: Any = None) -> Iterator[tuple[Execute, str]]:
    """(``Execute``, the view name to use as ``{source}``) over ``files`` (Parquet, read as one
    table: the columns the SQL reads, plus each row's file and row number; cached, as every
    query reads them). ``spark``: a session to use (and keep); otherwise one is started here
    and stopped on exit."""
    own, df = spark is None, None
    try:
        if own:
            spark = session(master, remote)
        from pyspark.sql import functions as F

        df = spark.read.parquet(*[str(Path(f).resolve()) for f in files]).select(
            *COLUMNS, F.col("_metadata.file_path").alias("filename"),
            F.col("_metadata.row_index").alias("file_row_number")).cache()  # read once
        df.createOrReplaceTempView(VIEW)

        def execute(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            return [r.asDict() for r in spark.sql(spark_dialect(query), args=params).collect()]

        yield execute, VIEW
    except Exception as e:  # noqa: BLE001 (Spark's errors are pages of JVM text)
        raise _one_line(e) from None
    finally:
        if own and spark is not None:
            spark.stop()
        elif df is not None:
            df.unpersist()


def _one_line(e: Exception, more: str = "") -> Exception:
    """Spark's error as one ValueError line (its first line: the error class and message);
    ours pass unchanged."""
    if isinstance(e, ValueError) and not type(e).__module__.startswith(("pyspark", "py4j")):
        return e
    first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
    return ValueError(f"Spark: {first[:400]}{more}")
