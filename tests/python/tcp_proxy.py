"""A TCP proxy between a client and a daemon that can cut every connection.

Tests put it between tensord's client and a real daemon to drop the network
under a running program: `sever()` resets every open connection (both
sides see the connection die, as when a cable is pulled or a NAT forgets
it), and `refuse()` makes new connections fail until `accept()` is called.
It forwards bytes untouched.
"""
from __future__ import annotations

import select
import socket
import struct
import threading


def _connect(target: str) -> socket.socket:
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target[len("unix:"):])
        return s
    host, port = target.rsplit(":", 1)
    return socket.create_connection((host, int(port)))


def _reset(s: socket.socket) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN, like a dropped link.
    try:
        if s.family != socket.AF_UNIX:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


class TcpProxy:
    """Listens on 127.0.0.1 (an ephemeral port) and forwards to `target`
    (HOST:PORT or unix:PATH)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.address = "127.0.0.1:%d" % self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._refusing = False
        self._closed = False
        self.connections = 0  # accepted and forwarded so far
        self.severed = 0      # connections cut by sever()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                refusing = self._refusing or self._closed
            if refusing:
                _reset(client)
                continue
            try:
                upstream = _connect(self.target)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        return
                    peer[s].sendall(data)
                with self._lock:
                    if (a, b) not in self._pairs:
                        return
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))
            _reset(a)
            _reset(b)

    def sever(self) -> int:
        """Resets every open connection; returns how many there were."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.severed += len(pairs)
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                _reset(s)
        return len(pairs)

    def refuse(self) -> None:
        """New connections are reset at once (the daemon looks unreachable)."""
        with self._lock:
            self._refusing = True

    def accept(self) -> None:
        with self._lock:
            self._refusing = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._listener.close()
        self.sever()
