"""A deterministic demo plant: people, customers, products and about three months of orders with their
execution history, as of noon on a given day.

The plan is drawn in memory (catalogue, plan, history, incidents) and written in bulk; what its reports count
for, how its orders move and how its exceptions close is decided by the real services (build), so every
screen, report and alert built on them has something true to show, and a rule changed once changes the demo.
"""

from __future__ import annotations

from domain.demo.build import ALREADY_LOADED, load_demo_plant
from domain.demo.catalogue import CUSTOMERS, FINISHING, INJECTION, PRODUCTS, QUALITY
from domain.demo.plan import DemoSummary

__all__ = ["ALREADY_LOADED", "CUSTOMERS", "FINISHING", "INJECTION", "PRODUCTS", "QUALITY", "DemoSummary",
           "load_demo_plant"]
