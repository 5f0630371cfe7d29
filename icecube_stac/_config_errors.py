"""Build the ``config.json`` error messages: one problem names the key, the value and what is allowed.

Every config check raises through :func:`fail` (or :func:`file_problem` for an unreadable file), so all
messages share one form: ``config key 'bbox': got [0, 0, 1]; expected [min_lon, ...]``. Several problems
are gathered into one :class:`ConfigProblems`. Values are shown shortened, without recursion (so any
value, however deep or large, can be shown) and with credentials hidden (URL user-info ``***@``,
``?token=***``, ``Bearer ***``, and the values of members such as ``Authorization`` or ``api_key``), in
the message and in ``err.value``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Final, NoReturn

from ._config_limits import SUGGEST_MAX_CHARS
from .errors import ConfigError

__all__ = [
    "FILE_KEY",
    "WHOLE_NUMBER_HINT",
    "ConfigProblems",
    "combine",
    "did_you_mean",
    "fail",
    "file_problem",
    "Withheld",
    "hide_credentials",
    "one_of",
    "problem",
    "shown",
    "whole_number_hint",
]

FILE_KEY: Final = "<file>"
"""The ``key`` of a problem with the config file itself (missing, not JSON...)."""

WHOLE_NUMBER_HINT: Final = "written without a fraction"
"""Part of the message for a whole number written as ``6.0`` (see :func:`whole_number_hint`)."""

_MAX_SHOWN: Final = 160


class ConfigProblems(ConfigError):
    """Several config problems at once (or problems in a named file); a :class:`ConfigError`.

    ``key``, ``value`` and ``allowed`` are those of the first problem, so code that handles a single
    ``ConfigError`` keeps working.

    Parameters
    ----------
    problems
        The individual problems, in the order keys are documented.
    source
        The config file the problems come from, if any.
    """

    def __init__(self, problems: Sequence[ConfigError], source: str | None = None) -> None:
        if not problems:
            raise ValueError("ConfigProblems needs at least one problem")
        first = problems[0]
        # Not ConfigError.__init__: it would format the repr of the whole first value again.
        self.key, self.value, self.allowed = first.key, first.value, first.allowed
        self.problems: tuple[ConfigError, ...] = tuple(problems)
        self.source = source
        where = f"config file '{hide_credentials(source)}'" if source else "config"
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        Exception.__init__(self, "\n".join([f"{count} in {where}:", *(f"  - {p}" for p in problems)]))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.source))


# Where a URL's authority ends in a message: urllib ends it at / ? # only (and drops tab, CR and LF anywhere),
# so any other white space or control character (a form feed, fuzz case 337) is part of it; an ASCII space or
# quote still ends it in running text.
_AUTHORITY_END: Final = re.compile(r"[/?# '\"<>]")
_SECRET_QUERY: Final = re.compile(
    r"([?&;](?:access_?token|api_?key|apikey|key|pass|passwd|password|secret|sig|signature|token|"
    r"x-amz-credential|x-amz-security-token|x-amz-signature)=)[^&;#\s'\"]*",
    re.IGNORECASE,
)
_SCHEME_TOKEN: Final = re.compile(r"\b(Bearer|Basic|Digest|Token)\s+[^\s'\",;]+", re.IGNORECASE)
_SECRET_NAME: Final = re.compile(
    r"auth|token|secret|passw|api[-_]?key|cookie|credential|session|signature|private", re.IGNORECASE
)
_HIDDEN: Final = "<hidden>"
_HUGE_INT_BITS: Final = 1024


def _hide_userinfo(text: str) -> str:
    # A linear scan (a regex would backtrack quadratically on hostile text such as "a://a://a://...").
    out: list[str] = []
    kept = 0
    start = text.find("://")
    while start >= 0:
        authority = start + 3
        end_match = _AUTHORITY_END.search(text, authority)
        end = end_match.start() if end_match else len(text)
        at = text.rfind("@", authority, end)
        if at >= 0:
            out += [text[kept:authority], "***"]
            kept = at
        start = text.find("://", max(end, authority))
    return "".join([*out, text[kept:]])


def hide_credentials(text: str) -> str:
    """Return ``text`` with URL user-info, secret query values and HTTP auth tokens replaced by ``***``.

    Parameters
    ----------
    text
        Any text, e.g. a catalog URL ``https://user:secret@host/api?token=abc`` or ``Bearer abc``.

    Returns
    -------
    str
        For the examples, ``https://***@host/api?token=***`` and ``Bearer ***``.
    """
    if "://" in text:
        text = _hide_userinfo(text)
    if "=" in text:
        text = _SECRET_QUERY.sub(r"\1***", text)
    return _SCHEME_TOKEN.sub(r"\1 ***", text)


def _secret_name(name: object) -> bool:
    """Whether a member named ``name`` (``Authorization``, ``api_key``...) holds a credential."""
    return isinstance(name, str) and len(name) <= 200 and _SECRET_NAME.search(name) is not None


class _Raw(str):
    """A piece of :func:`shown` output that is written as is (punctuation), not as a repr."""


def _pieces(value: object) -> Iterator[object]:
    """Yield the parts of a container's repr, members unexpanded (:func:`shown` expands them, not recursing)."""
    if type(value) is dict:
        yield _Raw("{")
        for index, (name, member) in enumerate(value.items()):
            yield _Raw(", " if index else "")
            yield name
            yield _Raw(": ")
            yield _HIDDEN if _secret_name(name) else member
        yield _Raw("}")
        return
    assert isinstance(value, (list, tuple))
    yield _Raw("[" if type(value) is list else "(")
    for index, member in enumerate(value):
        yield _Raw(", " if index else "")
        yield member
    yield _Raw("]" if type(value) is list else ",)" if len(value) == 1 else ")")


def _scalar(value: object, limit: int) -> str:
    if isinstance(value, str):
        text = hide_credentials(value)
        return repr(text if len(text) <= 2 * limit else text[: 2 * limit])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _HUGE_INT_BITS:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        return hide_credentials(repr(value))
    except Exception:  # a repr that fails or recurses without end (RecursionError is an Exception)
        return f"<{type(value).__name__} object>"


def shown(value: object, limit: int = _MAX_SHOWN) -> str:
    """Return ``repr(value)`` shortened to about ``limit`` characters, without recursion, credentials hidden.

    Parameters
    ----------
    value
        Anything: dicts, lists and tuples are expanded without recursing (so a value nested a million
        levels deep is fine) and only as far as the message needs.
    limit
        Characters shown; longer text ends with ``" ..."``.

    Returns
    -------
    str
        ``repr(value)`` itself when it is short and holds no credentials.
    """
    out: list[str] = []
    size = 0
    stack: list[Iterator[object]] = [iter([value])]
    while stack and size <= limit:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if type(item) in (dict, list, tuple):
            stack.append(_pieces(item))
            continue
        piece = str(item) if isinstance(item, _Raw) else _scalar(item, limit)
        out.append(piece)
        size += len(piece)
    text = "".join(out)
    return text if len(text) <= limit and not stack else text[:limit] + " ..."


def _redacted(value: object, depth: int = 0) -> object:
    """``value`` with credentials hidden in its strings (containers copied only where one changed)."""
    if isinstance(value, str):
        return hide_credentials(value)
    if depth > 32 or type(value) not in (dict, list, tuple):
        return value
    if type(value) is dict:
        items = {
            name: _HIDDEN if _secret_name(name) else _redacted(member, depth + 1) for name, member in value.items()
        }
        same = all(items[name] is member for name, member in value.items())
        return value if same else items
    assert isinstance(value, (list, tuple))
    members = [_redacted(member, depth + 1) for member in value]
    if all(new is old for new, old in zip(members, value, strict=True)):
        return value
    return members if type(value) is list else tuple(members)


class Withheld:
    """Stands in for a value that is not shown at all: what an unknown key holds may be anything, a token too.

    Parameters
    ----------
    value
        The value withheld; only its kind and size are kept.
    """

    def __init__(self, value: object) -> None:
        if isinstance(value, str):
            self.text = f"<a string of {len(value):,} characters>"
        elif isinstance(value, dict):
            self.text = f"<an object with {len(value):,} member(s)>"
        elif isinstance(value, (list, tuple)):
            self.text = f"<an array of {len(value):,} item(s)>"
        else:
            self.text = f"<a {type(value).__name__}>"

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def problem(key: str, value: object, allowed: str) -> ConfigError:
    """Return the error for one bad value; the message shortens long values, ``err.value`` keeps them.

    Parameters
    ----------
    key
        The config key.
    value
        The value as given (credentials in URLs are hidden, in the message and in ``err.value``).
    allowed
        What the key accepts, starting with ``expected ...`` or with what is wrong.

    Returns
    -------
    ConfigError
    """
    # Not ConfigError(key, value, allowed): its message holds the full repr, which may be huge, recurse
    # without end or show a password.
    err = ConfigError.__new__(ConfigError)
    err.key, err.value, err.allowed = key, _redacted(value), allowed
    err.args = (f"config key {shown(key, 80)}: got {shown(value)}; {allowed}",)
    return err


def fail(key: str, value: object, allowed: str) -> NoReturn:
    """Raise :func:`problem` ``(key, value, allowed)``.

    Parameters
    ----------
    key, value, allowed
        As for :func:`problem`.

    Raises
    ------
    ConfigError
        Always.
    """
    raise problem(key, value, allowed)


def file_problem(path: str, reason: str) -> ConfigError:
    """Return the error for a config file that cannot be read as a JSON object.

    Parameters
    ----------
    path
        The file.
    reason
        What is wrong with it.

    Returns
    -------
    ConfigError
        With ``key`` :data:`FILE_KEY` and ``value`` the path.
    """
    path = hide_credentials(path)
    err = ConfigError(FILE_KEY, path, reason)
    err.args = (f"config file '{path}': {reason}",)
    return err


def combine(problems: Sequence[ConfigError], source: str | None) -> ConfigError:
    """Return the one error to raise for ``problems``: a lone problem of a mapping as itself.

    Parameters
    ----------
    problems
        At least one problem.
    source
        The config file, or None for a mapping.

    Returns
    -------
    ConfigError
        ``problems[0]``, or a :class:`ConfigProblems` when there are several or a file is named.
    """
    if len(problems) == 1 and source is None:
        return problems[0]
    return ConfigProblems(problems, source)


def did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    """Return the candidate closest to ``word`` (ignoring case), if one is close enough.

    Parameters
    ----------
    word
        What the user wrote.
    candidates
        What they may have meant.

    Returns
    -------
    str or None
    """
    if len(word) > SUGGEST_MAX_CHARS:
        return None
    by_fold = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


def one_of(choices: Sequence[str], word: object, *, any_case: bool = True, nullable: bool = True) -> str:
    """Say which choices are allowed, with a "did you mean" for a near miss.

    Parameters
    ----------
    choices
        The allowed values.
    word
        What the user wrote (a suggestion is made only for a string).
    any_case
        Whether the choices are matched ignoring case.
    nullable
        Whether null is allowed too.

    Returns
    -------
    str
        For example ``expected one of 'GRD', 'SLC' (any case) or null; did you mean 'GRD'?``.
    """
    text = "expected one of " + ", ".join(repr(c) for c in choices)
    text += " (any case)" if any_case else ""
    text += " or null" if nullable else ""
    if isinstance(word, str) and (guess := did_you_mean(word, choices)):
        text += f"; did you mean {guess!r}?"
    return text


def whole_number_hint(value: object) -> str:
    """Explain that a whole number must be written without a fraction, when ``value`` is such a float.

    JSON Schema counts ``6.0`` as the integer 6; the loader does not, and says so with this hint.

    Parameters
    ----------
    value
        The rejected value.

    Returns
    -------
    str
        ``", written without a fraction (6, not 6.0)"``, or ``""`` when ``value`` is no integral float.
    """
    if isinstance(value, float) and value.is_integer():
        return f", {WHOLE_NUMBER_HINT} ({int(value)}, not {value})"
    return ""
