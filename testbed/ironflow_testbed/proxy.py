"""A tiny HTTP CONNECT proxy on loopback, for the tests of kubeconfig `proxy-url`.

It records the target of every tunnel (so a test can prove the client went through it) and
tunnels only to loopback addresses: confinement holds even if a test is wrong. `routes` sends a
target elsewhere (on loopback): a server address that only the proxy can reach proves that every
connection of a client went through it. It runs on its own event loop in a thread, so a test can
point a separate process (the operator) at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

LOOPBACK = ("127.0.0.1", "127.0.0.2", "localhost", "::1")


class ConnectProxy:
    def __init__(self, routes: dict[str, tuple[str, int]] | None = None) -> None:
        self.routes = dict(routes or {})
        self.tunnels: list[str] = []
        self.refused: list[str] = []
        self.url = ""

    async def serve(self) -> asyncio.Server:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host.strip("[]") not in LOOPBACK:
                self.refused.append(f"{method} {target}")
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            to_host, to_port = self.routes.get(target, (host.strip("[]"), int(port)))
            if to_host not in LOOPBACK:
                raise ValueError(to_host)
            upstream_reader, upstream_writer = await asyncio.open_connection(to_host, to_port)
            self.tunnels.append(target)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[ConnectProxy]:
        """Serve on a loop of its own in a daemon thread until the block ends; then every tunnel is
        closed and the loop with it."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        holder: list[asyncio.Server] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            holder.append(loop.run_until_complete(self.serve()))
            started.set()
            loop.run_forever()

        async def shutdown() -> None:
            holder[0].close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        thread = threading.Thread(target=run, name="connect-proxy", daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
