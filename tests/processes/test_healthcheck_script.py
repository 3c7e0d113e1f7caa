"""deploy/healthcheck.py, the image's HEALTHCHECK, run as Docker runs it: healthy when the
process's /healthz answers 200 on the webhook port or the health port, unhealthy otherwise."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


def health_server(status: int) -> ThreadingHTTPServer:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Answer)


@pytest.fixture
def serving() -> Iterator[dict[int, int]]:
    """Start servers answering a given status; yields status → port."""
    servers = {status: health_server(status) for status in (200, 503)}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {status: server.server_address[1] for status, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthcheck(**env: str) -> int:
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, timeout=60).returncode


def test_a_worker_is_healthy_on_its_health_port(serving):
    assert healthcheck(WEBHOOK_PORT=str(free_port()), HEALTH_PORT=str(serving[200])) == 0


def test_the_webhook_server_is_healthy_on_its_own_port(serving):
    assert healthcheck(WEBHOOK_PORT=str(serving[200]), HEALTH_PORT="0") == 0


def test_a_503_or_nothing_listening_is_unhealthy(serving):
    assert healthcheck(WEBHOOK_PORT=str(serving[503]), HEALTH_PORT=str(free_port())) == 1


def test_an_explicit_url_is_the_only_one_asked(serving):
    url = f"http://127.0.0.1:{serving[503]}/healthz"
    assert healthcheck(ABDI_HEALTH_URL=url, HEALTH_PORT=str(serving[200])) == 1
