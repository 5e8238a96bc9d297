"""The columnar store: Arrow tables memory-mapped from a cache keyed by file content."""
