"""`factorybot alerts stats` as a manager types it: a month that does not exist is refused in Chinese."""

from __future__ import annotations

from click.testing import CliRunner

from factorybot.cli import main


def invoke(tmp_path, monkeypatch, *args: str):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/factorybot.db")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    return runner.invoke(main, list(args))


def test_a_month_that_does_not_exist_is_refused_with_a_chinese_message_and_a_failing_exit(tmp_path, monkeypatch):
    for month in ("2026-13", "2026-00", "十月"):
        result = invoke(tmp_path, monkeypatch, "alerts", "stats", "--month", month)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a refusal, not a crash
        assert f"无法识别月份「{month}」。月份格式：2026-10（或 2026年10月）" in result.stderr
        assert "Traceback" not in result.output


def test_a_month_written_either_way_gives_its_figures(tmp_path, monkeypatch):
    for month in ("2026-10", "2026年10月"):
        result = invoke(tmp_path, monkeypatch, "alerts", "stats", "--month", month)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("2026-10 预警处理情况：\n  本月没有预警。")
