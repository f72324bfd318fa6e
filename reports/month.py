"""The plant's calendar month lives in domain/month.py (alerts, usage and reports all count by it)."""

from __future__ import annotations

from domain.month import USAGE, Month, last_full_month

__all__ = ["USAGE", "Month", "last_full_month"]
