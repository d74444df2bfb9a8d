"""The runner's HTTP server: a Starlette app served by uvicorn inside the runner's event loop.

Only the runner that holds the lease listens (a standby does not), so whatever a route does
(store a Telegram update, later a web chat message) is done by the one runner of the store.
The runner starts ``serve`` as a task when it gets the lease and cancels it when it stops or
loses the lease; cancelled, the server stops accepting at once and gives requests in flight
``SHUTDOWN_GRACE`` to finish.

The socket is bound here, not by uvicorn (which calls sys.exit when a port is taken): a port
another program holds is an ``OSError`` the runner records and retries with backoff. uvicorn
does not touch signal handlers either (the process that runs the runner owns them), nor the
logging setup: its own messages go to the process's log at warning and above.

Plain HTTP, meant to sit behind the team's reverse proxy for TLS. Must not import Textual,
the store or any connector (routes come from connectors through the runner).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
SHUTDOWN_GRACE = 2
"""On stop, requests in flight get this long to be answered before they are cancelled."""
MAX_CONCURRENT = 200
"""Connections and requests at once; uvicorn answers 503 above it (a flood stays bounded)."""

Health = Callable[[], tuple[bool, dict[str, Any]]]
"""What /healthz reports: (healthy, JSON body); 200 when healthy, else 503."""


def build_app(routes: Sequence[BaseRoute], health: Health) -> Starlette:
    """The app: GET /healthz and the connectors' routes."""

    async def healthz(request: Request) -> Response:
        ok, body = health()
        return JSONResponse(
            body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"}
        )

    return Starlette(routes=[Route(HEALTH_PATH, healthz, methods=["GET"]), *routes])


async def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; OSError when it cannot be had (the port is
    taken, the address is not this machine's, the name does not resolve)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    return socket.create_server(address, family=family, backlog=128)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals alone: ``omnitui serve`` and the TUI handle them (uvicorn's own
        handlers would swallow the SIGTERM meant to stop the runner)."""
        yield


async def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve ``app`` on the listening ``sock`` until cancelled; then stop gracefully and
    close the socket. Returns only if the server stops of itself."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        server_header=False,
        limit_concurrency=MAX_CONCURRENT,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http {host}:{port}")
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True  # seen within uvicorn's 0.1 s tick
        with contextlib.suppress(Exception):
            await task
        raise
    finally:
        sock.close()
