"""The gateway's /metrics, on a listener of its own (loopback by default), so that the public port never serves
it: scraping is for the operator's Prometheus, and the numbers describe the traffic of everyone."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class MetricsListenerFailed(RuntimeError):
    pass


async def _metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class _Listener(uvicorn.Server):
    """Runs beside the public server, which owns the process's signals and stops this one from its lifespan."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def metrics_listener(host: str, port: int) -> AsyncIterator[None]:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as exc:
        sock.close()
        raise MetricsListenerFailed(f"POSTIFYS_METRICS_PORT: cannot listen on {host}:{port} "
                                    f"({getattr(exc, 'strerror', None) or exc})") from None
    sock.setblocking(False)
    app = Starlette(routes=[Route("/metrics", _metrics, methods=["GET"])])
    server = _Listener(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await serving
        sock.close()
