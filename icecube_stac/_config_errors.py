"""Build the ``config.json`` error messages: one problem names the key, the value and what is allowed.

Every config check raises through :func:`fail` (or :func:`file_problem` for an unreadable file), so all
messages share one form: ``config key 'bbox': got [0, 0, 1]; expected [min_lon, ...]``. Several problems
are gathered into one :class:`ConfigProblems`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from .errors import ConfigError

__all__ = [
    "FILE_KEY",
    "WHOLE_NUMBER_HINT",
    "ConfigProblems",
    "combine",
    "did_you_mean",
    "fail",
    "file_problem",
    "one_of",
    "problem",
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
        super().__init__(first.key, first.value, first.allowed)
        self.problems: tuple[ConfigError, ...] = tuple(problems)
        self.source = source
        where = f"config file '{source}'" if source else "config"
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        self.args = ("\n".join([f"{count} in {where}:", *(f"  - {p}" for p in problems)]),)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.source))


class _Shown:
    """Stands in for a value whose repr would swamp an error message (a big polygon, say)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        text = repr(self.value)
        return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + " ..."


def problem(key: str, value: object, allowed: str) -> ConfigError:
    """Return the error for one bad value; the message shortens long values, ``err.value`` keeps them.

    Parameters
    ----------
    key
        The config key.
    value
        The value as given.
    allowed
        What the key accepts, starting with ``expected ...`` or with what is wrong.

    Returns
    -------
    ConfigError
    """
    err = ConfigError(key, value, allowed)
    err.args = (f"config key {key!r}: got {_Shown(value)!r}; {allowed}",)
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
