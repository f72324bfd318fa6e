"""Foresight on delivery: each open order's finish projected from the speed the floor actually achieved,
on the plant's shift calendar, with a risk level, warnings while there is time to act, and a backtest.

Pure cores (calendar, projection, suggestion, scoring) take plain facts; `store` and `replay` are the only
modules that read the database.
"""
