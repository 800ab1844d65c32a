"""Audit checks. Each is a unit registered through the ``register_checks`` hook."""
