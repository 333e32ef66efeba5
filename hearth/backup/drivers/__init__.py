"""Backup repositories: one module per kind of store, each a ``base.BackupRepository``."""
