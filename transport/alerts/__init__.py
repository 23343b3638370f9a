"""Alerts: a pure lifecycle (open, update, close, acknowledge) and the evidence they carry."""

from __future__ import annotations

from transport.alerts import evidence, lifecycle

__all__ = ["evidence", "lifecycle"]
