"""PostgreSQL DSNs shown safely: the password hidden in the DSN itself and in any message that quotes it.

:func:`redact_dsn` never raises, whatever the DSN (a malformed host such as ``[bad`` included), and
:func:`scrub` removes a DSN's password from any text, e.g. a driver error that repeats the DSN.
"""

from __future__ import annotations

import re
from typing import Final

from icecube_stac._redact import redact_text

__all__ = ["redact_dsn", "scrub"]

_MASK: Final = "***"
_KEYWORD_PASSWORD: Final = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD: Final = re.compile(r"([?&]password=)[^&#\s]*", re.IGNORECASE)
_URI: Final = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _split_userinfo(rest: str) -> tuple[str, str] | None:
    """Split ``user:password@host...`` at the last ``@`` before the query (passwords may hold ``@`` or ``/``)."""
    query = rest.find("?")
    at = rest.rfind("@", 0, query if query >= 0 else len(rest))
    if at < 0:
        return None
    return rest[:at], rest[at + 1 :]


def redact_dsn(dsn: str) -> str:
    """Hide the password of a PostgreSQL DSN, so the DSN can be shown in messages and logs.

    Parameters
    ----------
    dsn
        A ``postgresql://`` URI or a libpq ``key=value`` string, well-formed or not.

    Returns
    -------
    str
        The DSN with the password replaced by ``***``.
    """
    match = _URI.match(dsn)
    if match is None:
        return _KEYWORD_PASSWORD.sub(rf"\g<1>{_MASK}", dsn)
    rest = match["rest"]
    split = _split_userinfo(rest)
    if split is not None:
        userinfo, hostinfo = split
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + _MASK
        rest = f"{userinfo}@{hostinfo}"
    return match["scheme"] + _QUERY_PASSWORD.sub(rf"\g<1>{_MASK}", rest)


def _passwords(dsn: str) -> list[str]:
    found = [m[2].strip("'") for m in _KEYWORD_PASSWORD.finditer(dsn)]
    match = _URI.match(dsn)
    if match is not None:
        split = _split_userinfo(match["rest"])
        if split is not None and ":" in split[0]:
            found.append(split[0].split(":", 1)[1])
        found += [m.split("=", 1)[1] for m in re.findall(r"[?&]password=[^&#\s]*", match["rest"], re.IGNORECASE)]
    # Shorter ones are only removed where a DSN form shows them: replacing them everywhere would garble text.
    return [p for p in found if len(p) >= 4 and p != _MASK]


def scrub(text: str, dsn: str) -> str:
    """Remove the password of ``dsn`` (and any URL credentials) from a message.

    Parameters
    ----------
    text
        A message, e.g. ``str()`` of a driver error.
    dsn
        The DSN whose password must not appear.

    Returns
    -------
    str
    """
    text = redact_text(_KEYWORD_PASSWORD.sub(rf"\g<1>{_MASK}", text.replace(dsn, redact_dsn(dsn))))
    for password in sorted(_passwords(dsn), key=len, reverse=True):
        text = text.replace(password, _MASK)
    return text
