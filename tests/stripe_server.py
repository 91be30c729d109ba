"""localstripe (a stateful Stripe-compatible server, from PyPI) as a real process on a free
loopback port, for the billing tests and ``bench/billing.py``; and :class:`FaultProxy`, a
small HTTP server on loopback in front of it that plays Stripe's failures (a 500 or 429 from
the n-th request on, a key Stripe refuses with 401).

localstripe is started through its own ``start()`` with two changes made in its process,
both to behave as Stripe does where the tests depend on it:

- its store stays in memory: localstripe pickles the whole store to the one fixed file
  ``/tmp/localstripe.pickle`` after every write, which parallel test workers would share
  (and which makes creating the benchmark's 2,000 customers quadratic);
- events are listed newest first, as Stripe lists them (localstripe lists them oldest first).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from waiting import until

_LAUNCH = """
import sys
import localstripe.resources as r
from localstripe import server

r.Store.dump_to_disk = lambda self: None
listed = r.Event._api_list_all.__func__

def newest_first(cls, url, **kwargs):
    li = listed(cls, url, **kwargs)
    li._list.reverse()
    return li

r.Event._api_list_all = classmethod(newest_first)
sys.argv = ["localstripe", "--port", sys.argv[1], "--from-scratch"]
server.start()
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class LocalStripe:
    """A running localstripe: ``url`` for ``[billing] api_base``."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str = "sk_test_aptien") -> Any:
        import stripe

        return stripe.StripeClient(key, base_addresses={"api": self.url}, max_network_retries=0)

    def flush(self) -> None:
        """Forget every object (localstripe's own ``DELETE /_config/data``)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("DELETE", "/_config/data")
            assert conn.getresponse().status == 200
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_localstripe(directory: Path) -> LocalStripe:
    """Start localstripe on a free loopback port and wait until it accepts connections."""
    port = free_port()
    log = directory / f"localstripe-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def alive() -> None:
        assert process.poll() is None, f"localstripe exited: {log.read_text()[-2000:]}"

    until(lambda: _answers(port), f"localstripe listening on {port}", meanwhile=alive)
    return LocalStripe(port, process, log)


@dataclass
class Faults:
    """What the proxy does to the requests it forwards (changed by the test as it goes)."""

    fail_from: int | None = None
    """The n-th request (1-based, counted from :meth:`reset`) and every one after it fail."""
    fail_times: int | None = None
    """How many requests fail from ``fail_from`` on (None: every one)."""
    status: int = 500
    refused_keys: set[str] = field(default_factory=set)
    """Keys answered 401, as Stripe answers a revoked key."""
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.fail_from, self.fail_times, self.requests, self.paths = None, None, 0, []


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def _forward(self) -> None:
        faults = self.server.faults
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        auth = self.headers.get("Authorization", "")
        with faults.lock:
            faults.requests += 1
            faults.paths.append(f"{self.command} {self.path}")
            failing = faults.fail_from is not None and faults.requests >= faults.fail_from
            if failing and faults.fail_times is not None:
                failing = faults.requests < faults.fail_from + faults.fail_times
        if auth.removeprefix("Bearer ") in faults.refused_keys:
            key = auth.removeprefix("Bearer ")
            # Stripe quotes part of the key in this message; the console must not pass it on.
            return self._error(401, "invalid_request_error", f"Invalid API Key provided: {key}")
        if failing:
            kind = "rate_limit_error" if faults.status == 429 else "api_error"
            return self._error(faults.status, kind, "the proxy plays a failure")
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    def _error(self, status: int, kind: str, message: str) -> None:
        data = json.dumps({"error": {"type": kind, "message": message}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: int, faults: Faults) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.faults = upstream, faults


@dataclass
class FaultProxy:
    url: str
    faults: Faults


@contextmanager
def fault_proxy(upstream: LocalStripe) -> Iterator[FaultProxy]:
    """A loopback HTTP server forwarding to ``upstream`` unless :class:`Faults` says fail."""
    faults = Faults()
    server = _ProxyServer(upstream.port, faults)
    thread = threading.Thread(target=server.serve_forever, name="stripe-fault-proxy")
    thread.start()
    try:
        yield FaultProxy(f"http://127.0.0.1:{server.server_address[1]}", faults)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
