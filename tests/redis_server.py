"""A private ``redis-server`` on a spare loopback port, for tests that flush, restart, stop or freeze it."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable

import redis


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # type: ignore[no-any-return]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spare_cluster_port() -> int:
    """A spare port whose cluster bus port (port + 10000) is spare too."""
    for _ in range(200):
        port = random.randint(20000, 30000)
        if _free(port) and _free(port + 10000):
            return port
    raise RuntimeError("no spare port pair for a cluster node")


class RedisServer:
    """One ``redis-server`` process without persistence: a restart starts it empty, as in production without AOF."""

    def __init__(self, *options: str, pick_port: Callable[[], int] = spare_port) -> None:
        self.options = options
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.pick_port = pick_port
        self.port = pick_port()
        self.workdir = tempfile.mkdtemp(prefix="dualauth-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        """Start the server; on its first start, on another port if another process took this one meanwhile.

        A port is only spare until someone binds it. A server that loses that race exits, while the ping meant for
        it is answered by the winner, and a test would then read and flush a stranger's data (CI once counted
        another cluster's keys as its own)."""
        for _ in range(1 if self.started else 20):
            self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_for_ping():
                self.started = True
                return
            self.stop()
            self.port = self.pick_port()
        raise RuntimeError(f"redis-server found its port {self.port} taken")

    def command(self) -> list[str]:
        return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.workdir, *self.options]  # fmt: skip

    def _wait_for_ping(self) -> bool:
        """Whether the server answering on the port is this one's process (False: another process holds it)."""
        assert self.process is not None
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.answers_for_itself()
            except redis.RedisError:
                if self.process.poll() is not None:
                    return False
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)

    def answers_for_itself(self) -> bool:
        # Its own working directory, by CONFIG rather than INFO: a test renames INFO away.
        return os.path.realpath(self.client().config_get("dir").get("dir", "")) == os.path.realpath(self.workdir)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Partition:
    """A TCP relay in front of a server, which can be cut like a network: connections drop, new ones are
    refused, and nothing sent meanwhile reaches the server, which keeps its data."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = spare_port()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self.heal()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def heal(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the server itself is down: the client sees its connection close
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


class SentinelServer(RedisServer):
    """A Redis Sentinel watching ``primary`` under the service name ``mymaster`` (quorum 1)."""

    service = "mymaster"

    def __init__(self, primary: RedisServer) -> None:
        super().__init__()
        self.primary = primary

    def command(self) -> list[str]:
        conf = os.path.join(self.workdir, "sentinel.conf")
        with open(conf, "w") as out:
            out.write(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.primary.port} 1\n"
                f"sentinel down-after-milliseconds {self.service} 500\n"
                f"sentinel failover-timeout {self.service} 5000\n"
            )
        return [self.binary, conf, "--sentinel"]

    def answers_for_itself(self) -> bool:
        return self.client().info("server").get("process_id") == self.process.pid  # type: ignore[union-attr]

    def primary_port(self) -> int:
        _, port = self.client().sentinel_get_master_addr_by_name(self.service)
        return int(port)


class RedisCluster:
    """Three primaries sharing the 16384 slots, no replicas."""

    def __init__(self) -> None:
        self.nodes = [RedisServer("--cluster-enabled", "yes", pick_port=spare_cluster_port) for _ in range(3)]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        deadline = time.monotonic() + 20
        while not all(self._converged(node) for node in self.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not converge")
            time.sleep(0.1)

    @staticmethod
    def _converged(node: RedisServer) -> bool:
        info = node.client().execute_command("CLUSTER INFO")
        if isinstance(info, dict):
            return info.get("cluster_state") == "ok"
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text

    def flushall(self) -> None:
        for node in self.nodes:
            node.client().flushall()

    def keys(self, pattern: str) -> list[bytes]:
        return [key for node in self.nodes for key in node.client().keys(pattern)]

    def close(self) -> None:
        for node in self.nodes:
            node.close()
