"""Bounded HTTP for the STAC API backend: one deadline bounds a whole search and every request in it.

pystac-client loses its ``timeout`` (``Client.open(url, stac_io=io)`` resets it to None) and a requests
timeout bounds only each socket operation, so a server answering slowly, trickling its answer or paginating
forever could hold a search for ever. Here :class:`BoundedStacApiIO` gives every request connect and read
timeouts no longer than what remains of a :class:`Deadline`, and :func:`run_within` runs the whole search
(landing page, conformance, every page, retries) in a worker thread that is given up on when the deadline
passes; the thread then stops at its next request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from pystac_client.stac_api_io import StacApiIO
from urllib3 import Retry

from icecube_stac.errors import SearchError

__all__ = ["BoundedStacApiIO", "Deadline", "run_within"]

T = TypeVar("T")

_GRACE_S: Final = 0.25  # lets an error raised by the worker at the deadline arrive before the generic one
# Connection failures and overloaded servers are retried a little (within the deadline), read errors never.
_RETRY: Final = Retry(total=2, connect=2, read=0, status=2, backoff_factor=0.1, status_forcelist=(502, 503, 504))


class Deadline:
    """A point in time, ``seconds`` from now, by which something must be done.

    Parameters
    ----------
    seconds
        How long from now.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        """Return the seconds left (negative once passed)."""
        return self.end - time.monotonic()


class BoundedStacApiIO(StacApiIO):
    """A pystac-client IO whose every request ends by :attr:`deadline`.

    Parameters
    ----------
    headers
        Extra HTTP headers sent with every request.
    seconds
        The first deadline, from now; set :attr:`deadline` anew for each search.
    """

    def __init__(self, headers: Mapping[str, str] | None, seconds: float) -> None:
        self.deadline = Deadline(seconds)
        super().__init__(headers=dict(headers or {}), timeout=seconds, max_retries=_RETRY)

    def update(
        self,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        request_modifier: Any = None,
        timeout: Any = None,
    ) -> None:
        """Update headers and parameters; a missing ``timeout`` keeps the bounded one (pystac-client passes None)."""
        super().update(headers, parameters, request_modifier, timeout if timeout is not None else self.timeout)

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        """Send one request with connect and read timeouts of what remains of the deadline.

        Raises
        ------
        SearchError
            When the deadline has passed before the request.
        """
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise SearchError(f"no time left for another request (timeout of {self.deadline.seconds:g} s)")
        self.timeout = (remaining, remaining)
        return super().request(href, method=method, headers=headers, parameters=parameters)


def run_within(call: Callable[[], T], deadline: Deadline, what: str) -> T:
    """Run ``call`` in a worker thread and wait for it until ``deadline`` at most.

    Parameters
    ----------
    call
        The work; it should itself stop soon after the deadline (as :class:`BoundedStacApiIO` requests do).
    deadline
        When to give up.
    what
        Names the work in the error message.

    Returns
    -------
    object
        What ``call`` returned.

    Raises
    ------
    SearchError
        When the deadline passes first; whatever ``call`` raised otherwise.
    """
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="icecube-stac-http", daemon=True)
    worker.start()
    worker.join(max(deadline.remaining(), 0.0) + _GRACE_S)
    if worker.is_alive():
        raise SearchError(
            f"{what} did not finish within the timeout of {deadline.seconds:g} s "
            "(config key 'timeout': raise it for a slow API or a large search)"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
