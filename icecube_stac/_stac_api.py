"""The STAC API search backend: pystac-client runs a search body, within ``timeout``, credentials hidden.

Every search (opening the API, conformance checks, every request, retry and page) ends within the
backend's ``timeout`` seconds (see :mod:`icecube_stac._http`); a credential in the URL (``user:pass@``,
``?token=``) is redacted in every message (:func:`icecube_stac._redact.redact_url`), and the underlying
exception, whose text may quote the URL, is not chained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from icecube_stac._redact import redact_text, redact_url
from icecube_stac.errors import SearchError

__all__ = ["StacApi"]

_MAX_REASON: Final = 500  # an API's error page can be long HTML: the message stays one readable line


def _reason(exc: BaseException) -> str:
    """Return the text of ``exc`` on one line, shortened, URL credentials redacted."""
    text = " ".join(redact_text(str(exc) or type(exc).__name__).split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


class StacApi:
    """Search a STAC API with pystac-client.

    Parameters
    ----------
    url
        The API's landing page (credentials in it are never shown in messages).
    headers
        Extra HTTP headers (e.g. ``Authorization``).
    timeout
        Seconds a whole search may take: opening the API, every request, retry and page included.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._client: Any = None
        self._io: Any = None

    @property
    def description(self) -> str:
        """The API URL, credentials redacted."""
        return redact_url(self.url)

    def __repr__(self) -> str:
        # Never the URL's password or token, nor a header's value: reprs end up in logs and tracebacks.
        return f"StacApi({self.description!r}, headers={sorted(self.headers)!r}, timeout={self.timeout!r})"

    def _open(self) -> Any:
        if self._client is None:
            import pystac_client

            try:
                self._client = pystac_client.Client.open(self.url, stac_io=self._io)
            except Exception as exc:
                raise SearchError(f"cannot open the STAC API at {self.description}: {_reason(exc)}") from None
            if not self._client.conforms_to("ITEM_SEARCH"):
                raise SearchError(f"{self.description} is not a STAC API with item search (no /search conformance)")
            if not self._client.conforms_to("FILTER"):
                raise SearchError(
                    f"{self.description} does not support CQL2 filters (Filter extension), which icecube-stac "
                    "needs to select by date, incidence angle and the other config keys"
                )
        return self._client

    def _items(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        client = self._open()
        try:
            return list(client.search(**kwargs).items_as_dicts())
        except Exception as exc:
            raise SearchError(f"search at {self.description} failed: {_reason(exc)}") from None

    def search(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a search body against the API, following every page, within :attr:`timeout` seconds.

        Parameters
        ----------
        body
            A body from :func:`to_search_body`.

        Returns
        -------
        list of dict
            Items in ``sortby`` order.

        Raises
        ------
        SearchError
            When the API cannot be opened, lacks item search or filters, fails, or is not done in time.
        """
        from icecube_stac._http import BoundedStacApiIO, Deadline, run_within

        kwargs = {k.replace("-", "_"): v for k, v in body.items()}
        kwargs.setdefault("limit", 500)
        deadline = Deadline(self.timeout)
        if self._io is None:
            self._io = BoundedStacApiIO(self.headers, self.timeout)
        self._io.deadline = deadline
        try:
            return run_within(lambda: self._items(kwargs), deadline, f"search at {self.description}")
        except BaseException:
            # Servers may drop the connection after an error, and a late worker may still use this session:
            # the next search starts afresh.
            self._client = self._io = None
            raise
