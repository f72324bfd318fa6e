"""Report stores on SQLite files: the hand-computed October, the demo plant, and bulk months."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from alerts.policy import AlertPolicy
from domain.db import make_engine, make_session_factory
from domain.migrate import upgrade
from domain.uow import UnitOfWork
from reports.month import Month
from reports.monthly import MonthlyReport, build_monthly
from tests.reports.hand_month import AS_OF, build_october


def report_for(url: str, month: Month, as_of: date) -> MonthlyReport:
    engine = make_engine(url)
    try:
        with UnitOfWork(make_session_factory(engine), read_only=True) as uow:
            return build_monthly(uow, month, as_of=as_of, policy=AlertPolicy())
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def hand_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hand')}/hand.db"
    upgrade(url)
    engine = make_engine(url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        build_october(uow)
        uow.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def hand_report(hand_url: str) -> MonthlyReport:
    return report_for(hand_url, Month(2026, 10), AS_OF)


def pdf_pages(path: Path) -> list[str]:
    """The text of each page, as pdftotext reads it (form feed between pages)."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1]


def pdf_fonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


@pytest.fixture(scope="session")
def write_pdf(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, bytes], Path]:
    folder = tmp_path_factory.mktemp("pdf")

    def write(name: str, content: bytes) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write
