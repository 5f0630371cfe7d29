"""Read a ``config.json`` file into a dict, naming the file (and line and column) in every error.

Strict JSON: duplicate keys, ``NaN`` and ``Infinity`` and a non-object top level are errors, which
Python's :mod:`json` would otherwise let through. A UTF-8 byte-order mark is tolerated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

from ._config_errors import file_problem

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
        duplicate key, a non-finite number or a top level that is not an object.
    """
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise file_problem(path, "no such file") from None
    except IsADirectoryError:
        raise file_problem(path, "is a folder; expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise file_problem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise file_problem(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
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
