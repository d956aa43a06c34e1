"""Chalice entry point: handlers only; all logic lives in chalicelib."""

from __future__ import annotations

from chalice import Chalice

app = Chalice(app_name="driftwarden")
