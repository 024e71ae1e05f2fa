"""Distribution API client, references, mirrors and the embedded registry process."""
