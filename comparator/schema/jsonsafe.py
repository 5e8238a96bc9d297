"""JSON-safe values: what every JSON output (``--json``, reports, exports) goes through."""

from __future__ import annotations

import json
import math
from typing import Any


def clean(obj: Any) -> Any:
    """JSON-safe: NaN -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# inside <script>, "</script>" or "<!--" ends or changes the element and U+2028/U+2029 end a
# line in older JavaScript; as \u escapes they are the same JSON
_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                         "\u2029": "\\u2029"})


def script_json(obj: Any) -> str:
    """``obj`` as JSON safe to put inside an HTML ``<script>`` element, whatever its strings
    hold (quotes, backslashes, line breaks, ``</script>``, U+2028): the one way data from
    files enters a script of a page we write."""
    return json.dumps(clean(obj), ensure_ascii=False, allow_nan=False).translate(_SCRIPT)
