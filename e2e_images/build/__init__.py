"""Building images: Dockerfile parsing, build backends, and the Windows layer writer."""
