"""Helpers the entry points share: config validation, instantiation, run-dir I/O."""
