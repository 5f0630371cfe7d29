"""Hide credentials in URLs, so a catalog location or an error message can be shown to the user.

A password in a URL's userinfo (``https://user:s3cr3t@host``), a userinfo that is a bare token
(``https://t0ken@host``) and the values of query (or fragment) parameters that usually carry secrets
(``token``, ``api_key``, ``x-api-key``, ``client_secret``, ``X-Amz-Signature``, ``#access_token``, ...) become
``***``. Everything else is kept, so the message still says where (a token in a URL's path is not told apart
from the path). In running text a URL ends at an ASCII space or quote; a URL known whole
(:func:`redact_url`) keeps them, in its userinfo too.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["redact_text", "redact_url"]

MASK: Final = "***"
# Query parameters whose values are secrets (matched case-insensitively on the whole name).
_SECRET_PARAMETERS: Final = re.compile(
    r"(?:(?:access|id|refresh)[-_]?token|(?:x[-_])?api[-_]?key|apikey|auth|client[-_]?secret|credentials?|key|pass|"
    r"passwd|password|secret|session|sig|signature|token|x-amz-credential|x-amz-security-token|x-amz-signature|"
    r"x-goog-credential|x-goog-signature)",
    re.IGNORECASE,
)
# Schemes are bounded (32 characters): an unbounded one makes the search quadratic on text like "a.a.a.a…".
# A URL in running text ends at an ASCII space or quote, not at other white space or control characters, which
# urllib keeps in (or, for tab, CR and LF, drops from) the URL: a form feed must not end a user-info early.
_URL: Final = re.compile(r"\b[a-z][a-z0-9+.-]{0,31}://[^ '\"<>]+", re.IGNORECASE)
# Every user-info of the text, not only a leading one ("https://u:S@h/xhttps://u:S@h/x" holds two).
_USERINFO: Final = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<userinfo>[^/?# '\"<>]*)@", re.IGNORECASE)
# In a URL known whole, the user-info is everything before the last "@" of the authority, quotes and spaces
# included (a password may hold them).
_WHOLE_USERINFO: Final = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<userinfo>[^/?#]*)@", re.IGNORECASE)
# A name never spans a separator: the search stays linear on "????..." (a name running on to the end, for each
# "?" in turn, was quadratic).
_PARAMETER: Final = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#?]+)=(?P<value>[^&;#]*)")


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["userinfo"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK  # a user alone is often a token itself
    return f"{match['scheme']}{shown}@"


def _parameter(match: re.Match[str]) -> str:
    if _SECRET_PARAMETERS.fullmatch(match["name"]) is None:
        return match[0]
    return f"{match['sep']}{match['name']}={MASK}"


def redact_url(url: str) -> str:
    """Return ``url`` with its credentials replaced by ``***``.

    Parameters
    ----------
    url
        A URL, or any other location (a local path is returned unchanged).

    Returns
    -------
    str
        The URL without password, userinfo token or secret query values.

    Examples
    --------
    >>> redact_url("https://user:s3cr3t@stac.example.com/api?token=abc&limit=5")
    'https://user:***@stac.example.com/api?token=***&limit=5'
    """
    if "://" not in url:
        return url
    url = _WHOLE_USERINFO.sub(_userinfo, url)
    base, hash_, fragment = url.partition("#")
    if "?" in base:
        path, _, query = base.partition("?")
        base = path + _PARAMETER.sub(_parameter, "?" + query)
    if "=" in fragment:  # OAuth's implicit flow returns its tokens there: #access_token=...
        fragment = _PARAMETER.sub(_parameter, "&" + fragment)[1:]
    return base + hash_ + fragment


def redact_text(text: str) -> str:
    """Redact every URL found in a message (see :func:`redact_url`).

    Parameters
    ----------
    text
        Any text, e.g. an exception message that may quote a URL.

    Returns
    -------
    str
    """
    return _URL.sub(lambda match: redact_url(match[0]), text)
