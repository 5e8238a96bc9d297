"""``python -m comparator stats JUDGED --ratings FILE...``: people's ratings as the human
judgments of a comparison (their figures: ``comparator.analysis.result.rater_summary``)."""

from __future__ import annotations

from pathlib import Path

from comparator.formats import Loaded
from comparator.formats.common import check_file
from comparator.ratings.store import load_ratings, with_ratings
from comparator.schema.errors import InputError


def merge_ratings(loaded: Loaded, paths: list[Path]) -> Loaded:
    """``loaded`` with the ratings as its ``human`` judgments (raises InputError naming the
    file and line of a rating of another comparison or of an unknown id)."""
    for p in paths:  # the one open's refusals (missing, a folder, a named pipe), named
        try:
            check_file(p)
        except InputError as e:
            raise InputError(p, f"{e.message} (--ratings)") from None
    comp = loaded.comparison
    return Loaded(with_ratings(comp, load_ratings(paths, comp)), loaded.format,
                  loaded.warnings, loaded.path)
