"""Type checks of each format's records before an importer reads them, and a last guard.

Every importer reads plain JSON objects. A record of the wrong shape (a list where a name is
due, a string where a list of runs is due) must end in one line naming the file, the line or
record and the field, never in a ``TypeError`` deep inside the importer. So each format states
the fields it reads as a small pydantic ``TypedDict`` in its own module (other keys are
allowed and kept), and ``check_rows`` validates every record against it; ``guarded`` turns
anything an importer still trips over into an ``InputError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from pydantic import ConfigDict, TypeAdapter, ValidationError

from comparator.schema.errors import InputError, excerpt
from comparator.schema.records import Real
from comparator.schema.settings import settings

OPEN = ConfigDict(extra="allow")  # a format's TypedDicts: ``@with_config(OPEN)``
Name = str | None
Number = Real  # finite, never a boolean (``true`` is not 1.0): comparator.schema.records


_ADAPTERS: dict[type, TypeAdapter] = {}


def _field(loc: Iterable, row: Any) -> str:
    """pydantic's location as a field path (``results[0].winner``). The parts that are not a key
    or index of the record (the union members pydantic names, ``str``, ``_Rating``) are left out,
    found by walking the record itself."""
    out, here = "", row
    for part in loc:
        if isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            out, here = out + f"[{part}]", here[part]
        elif isinstance(here, dict) and part in here:
            out, here = out + ("." if out else "") + str(part), here[part]
        elif isinstance(here, dict) and isinstance(part, str) and not part[:1].isupper() \
                and not part.startswith("_") and "[" not in part \
                and part not in ("str", "int", "float", "bool", "none"):
            out += ("." if out else "") + part  # a missing key
    return out


def problem(path: Path, err: ValidationError, row: Any = None, quote: bool = True,
            **where: Any) -> InputError:
    """The first problem of a pydantic ``ValidationError`` as a located InputError (``quote``:
    with an excerpt of the value)."""
    first = err.errors(include_url=False)[0]
    msg = first.get("msg", "invalid value")
    if quote and first.get("type") != "missing" and "input" in first:
        msg += f", got {excerpt(first['input'])}"
    return InputError(path, msg, field=_field(first.get("loc", ()), row) or None, **where)


def check_rows(path: Path, rows: Iterable[tuple[int, Any]], schema: type, *,
               is_line: bool = False, quote: bool = True) -> None:
    """Validate each ``(line or record number, record)`` against ``schema``; ``quote=False``
    for a file read because another file named it: its values are never shown."""
    adapter = _ADAPTERS.get(schema)
    if adapter is None:
        adapter = _ADAPTERS[schema] = TypeAdapter(schema)
    validate = adapter.validate_python
    for n, row in rows:
        try:
            validate(row)
        except ValidationError as err:
            raise problem(path, err, row, quote,
                          **({"line": n} if is_line else {"record": n})) from None


@contextmanager
def unwritable(comp: Any, out: Path | str) -> Iterator[None]:
    """A value JSON cannot hold (nested deeper than orjson writes, 254 levels) names the example
    it came from, instead of failing half-way through an export."""
    try:
        yield
    except orjson.JSONEncodeError as e:
        for ex in comp.examples:
            try:
                orjson.dumps(ex)
            except orjson.JSONEncodeError:
                why = ("an integer beyond 64 bits, kept as written in a free-form field"
                       if "64-bit" in str(e) else "a value nested too deeply?")
                raise InputError(out, f"cannot write example {excerpt(ex.get('id'))}: {e} "
                                 f"({why}); fix it in the input") from None
        raise InputError(out, f"cannot write the comparison: {e}") from None


def guarded(reader: Callable, src: Any, opts: Any, name: str) -> Any:
    """``reader(src, opts)``; what it still trips over becomes an InputError naming the file."""
    try:
        return reader(src, opts)
    except InputError:
        raise
    except MemoryError:
        raise InputError(src.path, "too large for this machine's memory: split the file or "
                         "use a machine with more memory") from None
    except RecursionError:
        raise InputError(src.path, "nested too deeply to read") from None
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
        if settings().debug:
            raise
        raise InputError(src.path, f"unexpected content for the {name} format "
                         f"({type(e).__name__}: {excerpt(str(e), 120)}); check --format, or "
                         "set COMPARATOR_DEBUG=1 and report it if the file is right") from None
