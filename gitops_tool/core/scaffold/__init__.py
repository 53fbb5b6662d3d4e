"""Scaffolding plans: which files a command would create, edit or remove, as data (no I/O)."""
