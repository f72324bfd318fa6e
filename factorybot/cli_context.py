"""What the `factorybot` command hands its sub-commands: the runtime, built on first use.

The root group (factorybot/cli.py) puts a `CliContext` in click's `ctx.obj`; a package's command group
(kis/cli.py, alerts/cli.py, …) reads `ctx.obj.runtime` and never imports the root command back, so the
packages below the entry points do not depend on them. Built lazily: `factorybot --help` and a command's
`--help` need no settings, and a command that reads other settings (`--demo`) builds its own runtime.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

from domain.errors import DomainError
from factorybot.config import ConfigError, Settings
from factorybot.runtime import Runtime
from kis.config import KisConfig
from kis.jobs import KisJobs


def build_runtime() -> Runtime:
    """The runtime from the environment's settings; a missing or malformed setting is a clear refusal."""
    try:
        return Runtime.build(Settings.from_env())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


class CliContext:
    """click's `ctx.obj` for every `factorybot` command: the runtime, built once and only when asked for."""

    def __init__(self, build: Callable[[], Runtime] = build_runtime) -> None:
        self._build = build
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._build()
        return self._runtime

    @property
    def kis_jobs(self) -> KisJobs:
        """The KIS jobs of `factorybot kis …`, from the runtime's settings (read here: kis/ knows no settings
        errors of the entry points)."""
        rt = self.runtime
        try:
            config = KisConfig.from_settings(rt.settings, rt.calendar.current())
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        return KisJobs(rt.session_factory, config, rt.alert_policy)


def cli_runtime() -> Runtime:
    """The current command's runtime (from the root group's context, or one built here when a group is
    run on its own, as a test may do)."""
    ctx = click.get_current_context()
    obj = ctx.find_object(CliContext)
    if obj is None:
        obj = ctx.ensure_object(CliContext)
    return obj.runtime


def fail(exc: DomainError) -> NoReturn:
    click.secho(exc.message, fg="red", err=True)
    sys.exit(1)
