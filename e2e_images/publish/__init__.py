"""Manifest lists, mirroring and promotion: everything that writes lists and moves tags."""
