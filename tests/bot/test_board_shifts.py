"""The board on a multi-shift plant carries today's shifts: plan against output each, the one on duty marked."""

from __future__ import annotations

import pytest

from domain.services.display_tokens import create_token
from tests.bot.conftest import uow_for
from tests.bot.shift_plant import TWO_SHIFTS, Clock, live_plant, plant_time

WO = "WO20261125-01"


def screen(h, clock: Clock) -> dict[str, str]:
    with uow_for(h) as uow:
        token = create_token(uow, name="大屏", workshop=None, now=clock())
        uow.commit()
    return {"X-Display-Token": token}


@pytest.fixture
def clock() -> Clock:
    return Clock(plant_time(2026, 11, 25, 10, 0))


def test_each_shift_of_the_day_shows_its_plan_and_output_and_the_one_on_duty(db_url, plant_db, fake_wecom,
                                                                              tmp_path, clock):
    h = live_plant(db_url, fake_wecom, tmp_path, clock, shifts=TWO_SHIFTS)
    headers = screen(h, clock)
    h.say("w1", f"报工 {WO} 良品 300")
    clock.at = plant_time(2026, 11, 25, 21, 0)
    h.say("w1", f"报工 {WO} 良品 100 不良 5")
    clock.at = plant_time(2026, 11, 26, 3, 0)  # the night shift, after midnight: still the 25th's board
    shifts = h.client.get("/board/data.json", headers=headers).get_json()["shifts"]
    # 14 work orders plan 1000 a day each on P01: a 12-hour shift of the two carries half.
    assert shifts == [
        {"name": "白班", "label": "11-25 白班", "hours": "08:00-20:00", "crew": None, "planned": 7000, "good": 300,
         "percent": 4, "on_duty": False, "working": True},
        {"name": "夜班", "label": "11-25 夜班", "hours": "20:00-08:00", "crew": None, "planned": 7000, "good": 100,
         "percent": 1, "on_duty": True, "working": True},
    ]
    clock.at = plant_time(2026, 11, 26, 8, 30)  # a new production day: its day shift on duty, nothing made yet
    shifts = h.client.get("/board/data.json", headers=headers).get_json()["shifts"]
    assert [(s["label"], s["good"], s["on_duty"]) for s in shifts] == [("11-26 白班", 0, True), ("11-26 夜班", 0, False)]
    page = h.client.get(f"/board/wall?token={headers['X-Display-Token']}").get_data(as_text=True)
    assert 'id="shifts"' in page


def test_a_one_shift_board_has_no_shifts(db_url, plant_db, fake_wecom, tmp_path, clock):
    h = live_plant(db_url, fake_wecom, tmp_path, clock)
    h.say("w1", f"报工 {WO} 良品 300")
    body = h.client.get("/board/data.json", headers=screen(h, clock)).get_json()
    assert "shifts" not in body and body["rows"]
