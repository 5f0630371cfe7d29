"""A real HTTP server on 127.0.0.1 for remote-asset tests: static files with byte ranges, in a daemon thread.

``RangeHandler`` answers ``Range: bytes=a-b`` with 206 Partial Content (like RangeHTTPServer) and records
each range it served; :func:`serving` runs any ``http.server`` server for the length of a ``with`` block.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

__all__ = ["RangeHandler", "serving", "serving_folder"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single byte-range support (206 Partial Content); counts the ranges it served."""

    ranges: ClassVar[list[str]] = []
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def send_head(self):  # type: ignore[no-untyped-def]
        """Serve ``Range: bytes=a-b`` requests as 206; anything else as the base class does."""
        match = _RANGE.match(self.headers.get("Range", "").strip())
        path = Path(self.translate_path(self.path))
        if match is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match.group(1))
        stop = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_error(416)
            return None
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{stop}/{size}")
        self.send_header("Content-Length", str(stop - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        type(self).ranges.append(f"{path.name}:{start}-{stop}")
        self._remaining = stop - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        """Copy only the requested range."""
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        outputfile.write(source.read(remaining))


@contextmanager
def serving(httpd: ThreadingHTTPServer) -> Iterator[str]:
    """Serve ``httpd`` in a daemon thread; yield its base URL; shut it down and close it afterwards."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@contextmanager
def serving_folder(root: Path) -> Iterator[str]:
    """Serve ``root`` with :class:`RangeHandler` on 127.0.0.1 (a free port); yield the base URL."""
    from functools import partial

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    httpd.timeout = 10
    with serving(httpd) as base:
        yield base
