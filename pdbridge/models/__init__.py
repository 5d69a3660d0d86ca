"""Drum model architectures, one file each, and the registry that names them (`registry.py`)."""
