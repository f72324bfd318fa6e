"""The plant's vocabulary: roles, order stages and statuses, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    TEAM_LEAD = "team_lead"
    SUPERVISOR = "supervisor"
    OPS_MANAGER = "ops_manager"
    TECHNICIAN = "technician"
    # 设备主管: the technicians' lead, who hears of a repair nobody on duty would take.
    MAINTENANCE_LEAD = "maintenance_lead"
    EXECUTIVE = "executive"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.WORKER: "操作工",
    Role.TEAM_LEAD: "班组长",
    Role.SUPERVISOR: "车间主管",
    Role.OPS_MANAGER: "运营经理",
    Role.TECHNICIAN: "维修技术员",
    Role.MAINTENANCE_LEAD: "设备主管",
    Role.EXECUTIVE: "管理层",
    Role.ADMIN: "系统管理员",
}

# People files written by the plant's HR may use Chinese role names.
ROLE_ALIASES: dict[str, Role] = {**{r.value: r for r in Role}, **{label: r for r, label in ROLE_LABELS.items()}}


class Stage(StrEnum):
    """An order's place in 接单→评审→排产→领料→生产→质检→入库→出货; it only moves forward."""

    RECEIVED = "received"
    REVIEWED = "reviewed"
    SCHEDULED = "scheduled"
    MATERIALS = "materials"
    PRODUCTION = "production"
    QC = "qc"
    STOCKED = "stocked"
    SHIPPED = "shipped"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def rank(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
STAGE_LABELS: dict[Stage, str] = {
    Stage.RECEIVED: "接单",
    Stage.REVIEWED: "评审",
    Stage.SCHEDULED: "排产",
    Stage.MATERIALS: "领料",
    Stage.PRODUCTION: "生产",
    Stage.QC: "质检",
    Stage.STOCKED: "入库",
    Stage.SHIPPED: "出货",
}


class OrderStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    VOIDED = "voided"


class WorkOrderStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CLOSED = "closed"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        return {
            "planned": "未开工",
            "in_progress": "生产中",
            "done": "已完工",
            "closed": "已关闭",
            "voided": "已作废",
        }[self.value]


class OperationStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"

    @property
    def label(self) -> str:
        return {"pending": "未开工", "in_progress": "进行中", "done": "已完成"}[self.value]


class ExceptionStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"open": "待处理", "acknowledged": "处理中", "closed": "已关闭"}[self.value]


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class TicketStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    DONE = "done"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    IMPORTED = "imported"
    REJECTED = "rejected"


class NoticeState(StrEnum):
    """Where an outgoing WeCom message is: pending → sending → sent, or failed (shown, resent by the CLI)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; taken again once its lease runs out (the sender died)
    SENT = "sent"
    FAILED = "failed"  # WeCom refused it, or transient errors outlasted the retry window


class Undelivered(StrEnum):
    """Why WeCom accepted a message but some recipients got nothing (the fields of message/send's answer)."""

    UNLICENSED = "unlicensed"  # unlicenseduser: no WeCom licence (接口许可) for this member
    INVALID_USER = "invalid_user"  # invaliduser: no such member, or outside the app's visible range
    INVALID_PARTY = "invalid_party"  # invalidparty
    INVALID_TAG = "invalid_tag"  # invalidtag


class Unreachable(StrEnum):
    """What an administrator must fix for a person who cannot receive messages."""

    UNLICENSED = "unlicensed"
    OUT_OF_RANGE = "out_of_range"
    NO_ACCOUNT = "no_account"

    @property
    def label(self) -> str:
        return UNREACHABLE_LABELS[self]


UNREACHABLE_LABELS: dict[Unreachable, str] = {
    Unreachable.UNLICENSED: "未开通企业微信许可",
    Unreachable.OUT_OF_RANGE: "不在应用可见范围",
    Unreachable.NO_ACCOUNT: "账号不存在",
}
