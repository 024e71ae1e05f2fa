"""One module per check kind: a frozen dataclass schema, `validate()` and `run(view)`."""
