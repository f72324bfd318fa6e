"""The plant's order-execution store (SQLAlchemy 2 typed ORM)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain.types import PortableJSON, UTCDateTime, str_enum
from domain.vocab import (
    AlertStatus,
    ExceptionStatus,
    NoticeState,
    OperationStatus,
    OrderStatus,
    OutboxStatus,
    Stage,
    TicketStatus,
    Undelivered,
    WorkOrderStatus,
)

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: PortableJSON}


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    # Comma-joined Role values; few roles per person and read far more than written.
    roles_csv: Mapped[str] = mapped_column(String(200), default="worker")
    workshop: Mapped[str | None] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r for r in self.roles_csv.split(",") if r)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    kis_item_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_number: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    kis_item_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class SalesOrder(Base):
    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_no: Mapped[str] = mapped_column(String(50), unique=True)
    kis_inter_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_date: Mapped[date] = mapped_column(Date)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage), default=Stage.RECEIVED)
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), default=OrderStatus.OPEN, index=True)
    shipped_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(lazy="joined")
    lines: Mapped[list[SalesOrderLine]] = relationship(
        back_populates="order", order_by="SalesOrderLine.entry_id", cascade="all, delete-orphan"
    )


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("order_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"))
    entry_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # Moulded parts are counted in pieces.
    qty: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    shipped_qty: Mapped[int] = mapped_column(Integer, default=0)
    # When the line had shipped in full (the KIS 销售出库 that completed it); None while it is still owed.
    shipped_at: Mapped[datetime | None]
    # When the line was closed (KIS 行关闭, FMRPClosed): no longer owed, whatever was shipped.
    closed_at: Mapped[datetime | None]

    order: Mapped[SalesOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")
    work_orders: Mapped[list[WorkOrder]] = relationship(back_populates="line", order_by="WorkOrder.code")


class OrderEvent(Base):
    """What a KIS pull did to an order (created, changed, voided, closed it, or made a work order of one of
    its production tasks): the rest of an order's story is in its own rows, this part only here."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))  # kis_pull
    kind: Mapped[str] = mapped_column(String(20))  # domain.services.order_events.KINDS
    detail: Mapped[str] = mapped_column(String(500), default="")  # what changed, as the timeline says it

    order: Mapped[SalesOrder] = relationship()


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_status_start", "status", "planned_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_lines.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    planned_qty: Mapped[int] = mapped_column(Integer)
    daily_plan_qty: Mapped[int] = mapped_column(Integer)
    planned_start: Mapped[datetime]
    planned_finish: Mapped[datetime]
    mould: Mapped[str | None] = mapped_column(String(40))
    machine: Mapped[str | None] = mapped_column(String(40), index=True)
    workshop: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[WorkOrderStatus] = mapped_column(str_enum(WorkOrderStatus), default=WorkOrderStatus.PLANNED)
    kis_icmo_bill_no: Mapped[str | None] = mapped_column(String(50), unique=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    line: Mapped[SalesOrderLine] = relationship(back_populates="work_orders")
    product: Mapped[Product] = relationship(lazy="joined")
    operations: Mapped[list[Operation]] = relationship(
        back_populates="work_order", order_by="Operation.seq", cascade="all, delete-orphan"
    )


class Operation(Base):
    """One step of a work order's route, e.g. 注塑 → 修边 → 质检 → 包装."""

    __tablename__ = "operations"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(20))
    workshop: Mapped[str] = mapped_column(String(40))
    good_qty: Mapped[int] = mapped_column(Integer, default=0)
    defect_qty: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[OperationStatus] = mapped_column(str_enum(OperationStatus), default=OperationStatus.PENDING)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    work_order: Mapped[WorkOrder] = relationship(back_populates="operations")


class WorkReport(Base):
    __tablename__ = "work_reports"
    __table_args__ = (Index("ix_work_reports_operator_time", "operator_id", "reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The delivery's identity (WeCom MsgId, card event key, form token): a repeat can never count twice.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    good_qty: Mapped[int] = mapped_column(Integer)
    defect_qty: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime]
    # Production day in the plant's time zone, so "today" needs no time-zone arithmetic in SQL. A report at
    # 02:00 belongs to the night shift of the day before (domain/plant_calendar.py).
    work_day: Mapped[date] = mapped_column(Date, index=True)
    # The shift and the crew on it when the report was made (None: reported before shifts were recorded).
    shift: Mapped[str | None] = mapped_column(String(20))
    crew: Mapped[str | None] = mapped_column(String(40))
    # When the reporter took it back with 撤销 (its quantities are then 0; the old ones are in its correction).
    undone_at: Mapped[datetime | None]

    operation: Mapped[Operation] = relationship()
    operator: Mapped[Person] = relationship()


class ReportCorrection(Base):
    """A report's quantities changed after it was counted: undone by its reporter (kind undo) or corrected by
    a team lead or supervisor with a reason (kind correct). Kept for good, shown on the order's timeline."""

    __tablename__ = "report_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The delivery's identity (card event key, MsgId): a repeated tap or message corrects once.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    work_report_id: Mapped[int] = mapped_column(ForeignKey("work_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # undo | correct
    by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    old_good: Mapped[int] = mapped_column(Integer)
    old_defect: Mapped[int] = mapped_column(Integer)
    new_good: Mapped[int] = mapped_column(Integer)
    new_defect: Mapped[int] = mapped_column(Integer)
    old_points: Mapped[int] = mapped_column(Integer)
    new_points: Mapped[int] = mapped_column(Integer)
    # When the KIS write-back took this correction into account (kis/push.collect); None: not yet. A
    # correction of a day outside the push's look-back still reaches KIS through it.
    kis_seen_at: Mapped[datetime | None] = mapped_column(index=True)

    report: Mapped[WorkReport] = relationship()
    by: Mapped[Person] = relationship()


class ShopException(Base):
    """An exception reported from the floor (设备故障, 材料不符, …)."""

    __tablename__ = "exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    type: Mapped[str] = mapped_column(String(20))
    # The press it happened on: the one the reporter typed ("P05"), else the work order's.
    machine: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ExceptionStatus] = mapped_column(str_enum(ExceptionStatus), default=ExceptionStatus.OPEN, index=True)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    resolution: Mapped[str | None] = mapped_column(Text)

    work_order: Mapped[WorkOrder | None] = relationship()
    reporter: Mapped[Person] = relationship(foreign_keys=[reporter_id])
    photos: Mapped[list[ExceptionPhoto]] = relationship(back_populates="exception", order_by="ExceptionPhoto.id")


class ExceptionPhoto(Base):
    __tablename__ = "exception_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("exceptions.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    path: Mapped[str] = mapped_column(String(300))
    thumb_path: Mapped[str] = mapped_column(String(300))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]

    exception: Mapped[ShopException] = relationship(back_populates="photos")


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_subject", "rule", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject_key: Mapped[str] = mapped_column(String(120))
    workshop: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus), default=AlertStatus.OPEN, index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    fired_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # When the chain last moved up a level, and when an acknowledged alert was last reminded.
    escalated_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # Why it closed: a person's action ("已处理", "转维修") or the condition clearing by itself.
    resolution: Mapped[str | None] = mapped_column(String(100))
    # normal | severe | critical, from ALERT_SEVERITY when it fired: who at the top of the chain hears of it.
    severity: Mapped[str] = mapped_column(String(10), default="normal")
    # Reminders sent in the shift of reminded_at (bounded by ALERT_REMINDERS_PER_SHIFT).
    reminders: Mapped[int] = mapped_column(Integer, default=0)

    cards: Mapped[list[AlertCard]] = relationship(back_populates="alert", order_by="AlertCard.id")


class AlertCard(Base):
    """One card send of an alert: its task id and the single-use response code that updates it."""

    __tablename__ = "alert_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    userids: Mapped[str] = mapped_column(String(2000))  # "|"-joined, as WeCom's touser
    level: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[str | None] = mapped_column(String(200))
    code_used: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime | None]

    alert: Mapped[Alert] = relationship(back_populates="cards")


class Notice(Base):
    """A message waiting to go out through WeCom, written in the same transaction as what caused it.

    Whatever process notices something (a Celery beat tick, the CLI, a callback) only writes rows here; the
    running service sends them (bot/outbox.py), so nothing is lost when the sender is down. `key` is the
    cause's own key (a callback's dedup key and part index…), so a repeated cause adds no second row; a
    resend after an unclear outcome is answered by WeCom's duplicate check, so nothing arrives twice.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    userids: Mapped[str] = mapped_column(String(2000))  # "|"-joined, as WeCom's touser
    text: Mapped[str | None] = mapped_column(Text)
    card: Mapped[dict[str, Any] | None] = mapped_column()
    # Set for an update of a card already sent (message/update_template_card): the new `card`, or `text` as
    # the button's replace_name.
    response_code: Mapped[str | None] = mapped_column(String(200))
    alert_card_id: Mapped[int | None] = mapped_column(ForeignKey("alert_cards.id"))
    created_at: Mapped[datetime]
    state: Mapped[NoticeState] = mapped_column(str_enum(NoticeState), default=NoticeState.PENDING)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # when a sender took it: the lease runs from here
    first_attempt_at: Mapped[datetime | None]  # the retry window (and WeCom's duplicate check) runs from here
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    msgid: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))


class ActionEvent(Base):
    """One user action through WeCom (a callback) and how it ended: the raw material of usage figures."""

    __tablename__ = "action_events"
    __table_args__ = (Index("ix_action_events_day_user", "day", "userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    day: Mapped[date] = mapped_column(Date)  # plant day, so daily figures need no time-zone arithmetic
    userid: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))  # ok | user_error | refused | failed
    latency_ms: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(80))  # e.g. the work order a scan named


class DisplayToken(Base):
    """A wall screen's key to the board: shown once, stored hashed, revocable by name."""

    __tablename__ = "display_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    workshop: Mapped[str | None] = mapped_column(String(40))  # None: the whole plant
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RepairTicket(Base):
    __tablename__ = "repair_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"), unique=True)
    machine: Mapped[str | None] = mapped_column(String(40))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus), default=TicketStatus.OPEN, index=True)
    opened_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    workshop: Mapped[str | None] = mapped_column(String(40))
    # Technicians already asked, so a re-dispatch goes to the next nearest instead of back.
    tried_userids: Mapped[str] = mapped_column(String(500), default="")
    task_id: Mapped[str | None] = mapped_column(String(128))
    # Who asked for it (the fault's reporter, or whoever tapped 转维修): told when it is repaired.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # When re-dispatching stopped and the maintenance lead was asked instead (REPAIR_MAX_REDISPATCH).
    escalated_at: Mapped[datetime | None]
    # What the technician recorded on 完成: the cause (from REPAIR_CAUSES or typed) and the parts used.
    cause: Mapped[str | None] = mapped_column(String(100))
    parts: Mapped[str | None] = mapped_column(String(200))


class PointsEntry(Base):
    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    work_report_id: Mapped[int | None] = mapped_column(ForeignKey("work_reports.id"), unique=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(100))
    work_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_points_person_day", "person_id", "work_day"),)


class SyncState(Base):
    """Watermarks and last-run facts of the KIS sync jobs (one row per job)."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    watermark: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_ok: Mapped[bool | None]
    last_message: Mapped[str | None] = mapped_column(Text)
    last_ok_at: Mapped[datetime | None]
    # Failures in a row, and when the next scheduled attempt may run (backoff while KIS is down).
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None]
    # A run holds the job until then, so two runs (beat and the CLI) never overlap; a crashed one expires.
    lease_until: Mapped[datetime | None]
    # Who holds the lease (what started the run, host and process) and since when, for `kis status`.
    lease_holder: Mapped[str | None] = mapped_column(String(120))
    lease_since: Mapped[datetime | None]


class KisOutbox(Base):
    """Completions waiting to be written to the KIS staging table, once and only once."""

    __tablename__ = "kis_outbox"
    __table_args__ = (Index("ix_kis_outbox_work_order_day", "work_order_id", "work_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    work_day: Mapped[date] = mapped_column(Date)
    qty: Mapped[int] = mapped_column(Integer)
    defect_qty: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    kis_bill_no: Mapped[str | None] = mapped_column(String(50))
    kis_message: Mapped[str | None] = mapped_column(String(255))
    # FBatchID of the push that wrote the row into the staging table.
    batch_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class UndeliveredMessage(Base):
    """A recipient WeCom named as not reached in an otherwise accepted message/send (or a send refused
    because every recipient was invalid). One row per message and recipient."""

    __tablename__ = "undelivered_messages"
    __table_args__ = (UniqueConstraint("msgid", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    msgid: Mapped[str] = mapped_column(String(128))  # WeCom's msgid of the send
    recipient: Mapped[str] = mapped_column(String(64))  # our userid (a party or tag id for those reasons)
    reason: Mapped[Undelivered] = mapped_column(str_enum(Undelivered))
    msgtype: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(index=True)


class ProcessedMessage(Base):
    """Callbacks already handled, for de-duplication when Redis is not configured."""

    __tablename__ = "processed_messages"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    reply_xml: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)


class LabelKeyInUse(Base):
    """The fingerprint of the label key the bot verifies scans with, recorded when it starts.

    `factorybot labels` runs in another process with its own environment; comparing fingerprints here lets it
    refuse to print labels that this bot would reject, and lets it find the demo's key beside a running demo.
    One row (id 1), rewritten by each bot start.
    """

    __tablename__ = "label_key_in_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(16))  # None: the bot runs without LABEL_KEY
    recorded_at: Mapped[datetime]


class PlantCalendarRow(Base):
    """The calendar the administrator stored (`factorybot calendar set`): one row, the spec as JSON
    (domain/plant_calendar.py CalendarSpec). Absent, the settings describe the calendar."""

    __tablename__ = "plant_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class Conversation(Base):
    """A question the bot asked one person (which press? what happened?), waiting for their next text.

    Kept in the database, not in a process: the answer may reach another web process, or arrive after a
    restart. One per person; a new question replaces the old one, and an expired one is ignored.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))  # what it is about, e.g. "exc:12" or "ticket:5"
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Handover(Base):
    """The 交接班 of one shift's end: what the outgoing lead leaves to the incoming one, acknowledged by the
    incoming lead from the card. One per shift occurrence (its key: production day and shift name)."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("day", "shift"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(20))
    shift_start: Mapped[datetime]
    shift_end: Mapped[datetime]
    outgoing_crew: Mapped[str | None] = mapped_column(String(40))
    incoming_crew: Mapped[str | None] = mapped_column(String(40))
    outgoing_lead: Mapped[str | None] = mapped_column(String(64))
    incoming_lead: Mapped[str | None] = mapped_column(String(64))
    # The card's content when it was made (output against plan per press, open items, next work orders).
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    task_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
