"""Image, index and layer models, their on-disk and in-memory forms (no network)."""
