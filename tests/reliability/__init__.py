"""Reliability suites: the fault matrix, fuzzing and security checks, with figures."""
