"""Audit reports: the pure report model and its renderings."""
