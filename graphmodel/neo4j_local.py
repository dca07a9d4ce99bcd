"""A local Neo4j 5.26 Community server without Docker, from Maven Central jars.

`mvn dependency:copy-dependencies` on a tiny generated pom resolves `org.neo4j:neo4j`
(the Community distribution, which holds `org.neo4j.server.CommunityEntryPoint`) with
its runtime dependencies into a cache folder, once. The server runs in a home folder of
its own with Bolt on 127.0.0.1 and HTTP off; its URI, password and pid are kept in
`state.json` there, so `stop` and `status` find it again.

Used by `scripts/neo4j-server` and by the tests. Needs Java 17+ and Maven.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

NEO4J_VERSION = os.environ.get("SITEGRAPH_NEO4J_VERSION", "5.26.30")
CACHE = Path(os.environ.get("SITEGRAPH_CACHE", Path.home() / ".cache" / "sitegraph"))
DEFAULT_HOME = CACHE / "neo4j-home"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sitegraph</groupId><artifactId>neo4j-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>{v}</version></dependency>
  </dependencies>
</project>
"""

_JVM_OPENS = [
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in ("java.nio", "java.lang", "sun.nio.ch", "java.util", "java.io", "java.util.concurrent",
              "java.lang.reflect", "java.net", "jdk.internal.misc")
]


# The JVM settings Neo4j's own launcher (bin/neo4j) uses, which starting the entry point
# directly would otherwise miss: a fixed-size heap (no growth pauses during a big load),
# G1, trusted final fields, no System.gc() from libraries, a bounded NIO buffer cache.
_JVM_TUNING = [
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC", "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true", "-Dlog4j2.disable.jmx=true",
]


class Neo4jLocalError(RuntimeError):
    pass


@dataclass
class ServerState:
    uri: str
    user: str
    password: str
    pid: int
    home: str
    version: str


def lib_dir(version: str = NEO4J_VERSION) -> Path:
    return CACHE / f"neo4j-{version}" / "lib"


def fetch(version: str = NEO4J_VERSION, quiet: bool = True) -> Path:
    """Resolve the Neo4j jars with Maven into the cache (once); returns the lib folder."""
    lib = lib_dir(version)
    marker = lib.parent / ".complete"
    if marker.exists():
        return lib
    if not shutil.which("mvn") or not shutil.which("java"):
        raise Neo4jLocalError("需要 Java 17+ 和 Maven（mvn）/ Java 17+ and Maven (mvn) are required")
    work = lib.parent
    if lib.exists():
        shutil.rmtree(lib)
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_POM.format(v=version))
    cmd = ["mvn", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
           f"-DoutputDirectory={lib}", "-DincludeScope=runtime"]
    if quiet:
        cmd.insert(1, "-q")
    proc = subprocess.run(cmd, capture_output=quiet, text=True)
    if proc.returncode != 0 or not any(lib.glob(f"neo4j-{version}.jar")):
        tail = (proc.stdout or "")[-2000:] + (proc.stderr or "")[-2000:] if quiet else ""
        raise Neo4jLocalError(f"Maven 未能取得 Neo4j {version} / Maven could not fetch Neo4j {version}\n{tail}")
    marker.write_text(version)
    return lib


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state_file(home: Path) -> Path:
    return home / "state.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def status(home: Path = DEFAULT_HOME) -> ServerState | None:
    sf = _state_file(Path(home))
    if not sf.exists():
        return None
    st = ServerState(**json.loads(sf.read_text()))
    return st if _alive(st.pid) else None


def _write_conf(home: Path, port: int, heap: str, pagecache: str, auth_lockout: bool = True,
                extra: dict[str, str] | None = None) -> Path:
    conf = home / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "neo4j.conf").write_text(
        "\n".join([
            f"server.bolt.listen_address=127.0.0.1:{port}",
            f"server.bolt.advertised_address=127.0.0.1:{port}",
            "server.http.enabled=false",
            "server.https.enabled=false",
            f"server.directories.data={home / 'data'}",
            f"server.directories.logs={home / 'logs'}",
            f"server.directories.run={home / 'run'}",
            f"server.memory.heap.initial_size={heap}",
            f"server.memory.heap.max_size={heap}",
            f"server.memory.pagecache.size={pagecache}",
            "dbms.usage_report.enabled=false",
            "dbms.security.auth_enabled=true",
            "dbms.security.allow_csv_import_from_file_urls=false",
            # check transaction timeouts every 100 ms (default 2 s), so that a short
            # --timeout stops a query close to when it says
            "db.transaction.monitor.check.interval=100ms",
            # a test server sees wrong passwords on purpose; don't lock the right one out
            *([] if auth_lockout else ["dbms.security.auth_max_failed_attempts=0"]),
            *(f"{k}={v}" for k, v in (extra or {}).items()),
            "",
        ])
    )
    return conf


def start(home: Path = DEFAULT_HOME, port: int | None = None, password: str | None = None,
          heap: str = "1g", pagecache: str = "256m", timeout: float = 120.0,
          auth_lockout: bool = True, extra_conf: dict[str, str] | None = None) -> ServerState:
    """Start a server in `home` (or return the one already running there); `extra_conf`
    adds neo4j.conf settings."""
    home = Path(home)
    running = status(home)
    if running:
        return running
    lib = fetch()
    port = port or int(os.environ.get("SITEGRAPH_NEO4J_PORT", 0)) or free_port()
    # hex: a urlsafe token may start with "-", which neo4j-admin set-initial-password reads as an option
    password = password or os.environ.get("NEO4J_PASSWORD") or secrets.token_hex(12)
    fresh = not (home / "data").exists()
    home.mkdir(parents=True, exist_ok=True)
    conf = _write_conf(home, port, heap, pagecache, auth_lockout, extra_conf)
    if fresh:  # set the initial password before the first start
        for attempt in (1, 2):
            done = subprocess.run(
                ["java", "-cp", f"{lib}/*", "org.neo4j.cli.AdminTool", "dbms", "set-initial-password", password,
                 f"--additional-config={conf / 'neo4j.conf'}"],
                env={**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)},
                capture_output=True, text=True, check=False,
            )
            if done.returncode == 0:
                break
        else:  # without it every login fails and the server locks the client out
            raise Neo4jLocalError(f"无法设置 Neo4j 初始密码 / set-initial-password failed: "
                                  f"{(done.stderr or done.stdout)[-800:].replace(password, '***')}")
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen(
        ["java", f"-Xms{heap}", f"-Xmx{heap}", *_JVM_TUNING, *_JVM_OPENS, "-cp", f"{lib}/*", "org.neo4j.server.CommunityEntryPoint",
         f"--home-dir={home}", f"--config-dir={conf}", "--console-mode"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)},
        start_new_session=True,
    )
    state = ServerState(f"bolt://127.0.0.1:{port}", "neo4j", password, proc.pid, str(home), NEO4J_VERSION)
    _wait_ready(state, proc, timeout)
    _state_file(home).write_text(json.dumps(asdict(state)))
    return state


def _wait_ready(state: ServerState, proc: subprocess.Popen, timeout: float) -> None:
    import neo4j

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Neo4jLocalError(f"Neo4j 启动失败，见 {state.home}/server.log / Neo4j exited, see server.log")
        try:
            with neo4j.GraphDatabase.driver(state.uri, auth=(state.user, state.password)) as d:
                d.verify_connectivity()
                d.execute_query("RETURN 1")
            return
        except Exception as e:  # not up yet
            last = e
            time.sleep(0.5)
    proc.kill()
    raise Neo4jLocalError(f"Neo4j 在 {timeout:.0f} 秒内未就绪 / not ready in time: {last}")


def stop(home: Path = DEFAULT_HOME, timeout: float = 60.0) -> bool:
    """Stop the server of `home`; True when one was running."""
    home = Path(home)
    sf = _state_file(home)
    if not sf.exists():
        return False
    st = ServerState(**json.loads(sf.read_text()))
    was = _alive(st.pid)
    if was:
        os.kill(st.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(st.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(st.pid):
            os.kill(st.pid, signal.SIGKILL)
    sf.unlink(missing_ok=True)
    return was


def kill(home: Path) -> None:
    """SIGKILL the server (fault-injection tests)."""
    st = status(home)
    if st:
        os.kill(st.pid, signal.SIGKILL)
        while _alive(st.pid):
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="neo4j-server", description="本地 Neo4j 5.26（无需 Docker）/ a local Neo4j without Docker")
    ap.add_argument("action", choices=["start", "stop", "status", "fetch"])
    ap.add_argument("--home", default=str(DEFAULT_HOME), help="server folder (data, logs, conf)")
    ap.add_argument("--port", type=int, default=None, help="Bolt port (default: $SITEGRAPH_NEO4J_PORT or a free one)")
    a = ap.parse_args(argv)
    home = Path(a.home)
    try:
        if a.action == "fetch":
            print(fetch(quiet=False))
        elif a.action == "start":
            st = start(home, port=a.port)
            print(st.uri)
            print(f"# export NEO4J_URI={st.uri} NEO4J_USERNAME={st.user} NEO4J_PASSWORD=<{home}/state.json>",
                  file=sys.stderr)
        elif a.action == "stop":
            print("stopped" if stop(home) else "not running")
        else:
            st = status(home)
            if not st:
                print("not running")
                return 3
            print(f"running {st.uri} pid {st.pid} (Neo4j {st.version})")
    except Neo4jLocalError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
