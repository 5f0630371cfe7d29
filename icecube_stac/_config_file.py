"""Read a ``config.json`` file into a dict, naming the file (and line and column) in every error.

Strict JSON: duplicate keys, ``NaN`` and ``Infinity``, numbers too large for a float (``1e400``, which
Python's :mod:`json` reads as infinity), integers of thousands of digits and a non-object top level are
errors, which Python's :mod:`json` would otherwise let through or report obscurely. Nesting deeper than
:data:`~icecube_stac._config_limits.CONFIG_MAX_DEPTH` is refused before parsing (the parser recurses).
A UTF-8 byte-order mark is tolerated.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Final, NoReturn

from ._config_errors import file_problem
from ._config_limits import CONFIG_MAX_DEPTH

_MAX_DIGITS: Final = 4000  # Python refuses int() of more than 4300 digits (sys.int_info)
_NESTING: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')

__all__ = ["read_config_file"]


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateKeyError(name)
        result[name] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity although JSON does not.
    raise ValueError(f"{name} is not valid JSON (JSON numbers must be finite)")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is out of range (JSON numbers must be finite, at most about 1.8e308)")
    return number


def _integer(text: str) -> int:
    if len(text) > _MAX_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-')):,} digits is out of range")
    return int(text)


def _too_deep(text: str) -> str | None:
    """Say where ``text`` nests deeper than :data:`CONFIG_MAX_DEPTH`, without parsing it (or None)."""
    if text.count("[") + text.count("{") <= CONFIG_MAX_DEPTH:
        return None
    depth = 0
    for match in _NESTING.finditer(text):
        token = match[0]
        if token in "[{":
            depth += 1
            if depth > CONFIG_MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - text.rfind("\n", 0, match.start())
                return f"line {line}, column {column}"
        elif token in "]}":
            depth -= 1
    return None


def read_config_file(path: str) -> dict[str, Any]:
    """Return the JSON object a config file holds.

    Parameters
    ----------
    path
        The file (``~`` is expanded).

    Returns
    -------
    dict
        The raw, unvalidated keys and values.

    Raises
    ------
    ConfigError
        With ``key`` ``"<file>"``, for a missing or unreadable file, invalid JSON (with line and column), a
        duplicate key, a non-finite or out-of-range number, nesting deeper than
        :data:`~icecube_stac._config_limits.CONFIG_MAX_DEPTH` or a top level that is not an object.
    """
    try:
        # os.path.expanduser leaves "~nosuchuser" alone; Path.expanduser would raise RuntimeError.
        text = Path(os.path.expanduser(path)).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise file_problem(path, "no such file") from None
    except IsADirectoryError:
        raise file_problem(path, "is a folder; expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise file_problem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise file_problem(path, f"cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # "embedded null byte"
        raise file_problem(path, f"not a valid file path ({exc})") from None
    if where := _too_deep(text):
        limit = f"at most {CONFIG_MAX_DEPTH} levels of objects and arrays"
        raise file_problem(path, f"nests too deeply at {where} ({limit}; a config needs far fewer)")
    try:
        data = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite,
            parse_int=_integer,
        )
    except RecursionError:  # unreachable after the depth scan; never let it out
        limit = f"at most {CONFIG_MAX_DEPTH} levels of objects and arrays"
        raise file_problem(path, f"nests too deeply ({limit})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise file_problem(path, f"invalid JSON at {where}: {exc.msg}") from None
    except _DuplicateKeyError as exc:
        raise file_problem(
            path, f"duplicate key {exc.args[0]!r} (JSON readers would silently keep only one value)"
        ) from None
    except ValueError as exc:
        raise file_problem(path, str(exc)) from None
    if not isinstance(data, dict):
        raise file_problem(path, f"the top level must be a JSON object {{...}}, got {type(data).__name__}")
    return data
