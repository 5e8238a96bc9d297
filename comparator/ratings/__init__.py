"""Human ratings of pairs (the Rate page): typed records, one append-only file per rater per
comparison in the user data dir, merged into a comparison as ``human`` judgments."""

from comparator.ratings.store import (
    Rating,
    comparison_key,
    load_ratings,
    ratings_dir,
    ratings_path,
    save_rating,
    with_ratings,
)

__all__ = ["Rating", "comparison_key", "load_ratings", "ratings_dir", "ratings_path",
           "save_rating", "with_ratings"]
