"""打印标签 in chat: team leads get a PDF of QR labels as a file; workers are refused."""

from __future__ import annotations


def test_team_lead_gets_a_label_sheet_as_a_file(live):
    assert live.say("lead", "打印标签 WO20261125-01 SEORD000002") == "正在生成标签，请稍候……"
    [text] = live.texts("lead")
    assert text.startswith("已生成 2 张工单标签，共 1 页 A4（每页 14 张）")
    assert text.endswith("工单：WO20261125-01、WO20261125-02")
    [upload] = live.fake.calls(path="media/upload")
    assert upload["params"]["type"] == "file" and upload["files"]["media"]["filename"].endswith(".pdf")
    assert len(live.sent("lead", "file")) == 1


def test_label_requests_that_cannot_be_met_are_explained(live):
    assert "没有使用该功能的权限" in live.say("w1", "打印标签 WO20261125-01")
    live.say("lead", "打印标签 WO20261125-99")
    assert "没有找到工单 WO20261125-99" in live.texts("lead")[-1]
    live.say("lead", "打印标签")
    assert live.texts("lead")[-1].startswith("打印标签格式：")
    assert live.fake.calls(path="media/upload") == []
