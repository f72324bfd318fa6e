"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:05:00.765005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import domain.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kis_item_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("kis_item_id", name=op.f("uq_customers_kis_item_id")),
        sa.UniqueConstraint("number", name=op.f("uq_customers_number")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_name"), ["name"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("roles_csv", sa.String(length=200), nullable=False),
        sa.Column("workshop", sa.String(length=40), nullable=True),
        sa.Column("zone", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("userid", name=op.f("uq_people_userid")),
    )
    op.create_table(
        "processed_messages",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("reply_xml", sa.Text(), nullable=True),
        sa.Column("created_at", domain.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_messages")),
    )
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_messages_created_at"), ["created_at"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_number", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("kis_item_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("item_number", name=op.f("uq_products_item_number")),
        sa.UniqueConstraint("kis_item_id", name=op.f("uq_products_kis_item_id")),
    )
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("watermark", domain.types.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject_key", sa.String(length=120), nullable=False),
        sa.Column("workshop", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "acknowledged", "closed", name="alertstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("fired_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["people.id"], name=op.f("fk_alerts_acknowledged_by_id_people")
        ),
        sa.ForeignKeyConstraint(["closed_by_id"], ["people.id"], name=op.f("fk_alerts_closed_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_rule_subject", ["rule", "subject_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)

    op.create_table(
        "sales_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_no", sa.String(length=50), nullable=False),
        sa.Column("kis_inter_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "received",
                "reviewed",
                "scheduled",
                "materials",
                "production",
                "qc",
                "stocked",
                "shipped",
                name="stage",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "closed", "voided", name="orderstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("shipped_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", domain.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_sales_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_orders")),
        sa.UniqueConstraint("bill_no", name=op.f("uq_sales_orders_bill_no")),
        sa.UniqueConstraint("kis_inter_id", name=op.f("uq_sales_orders_kis_inter_id")),
    )
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_orders_status"), ["status"], unique=False)

    op.create_table(
        "sales_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("shipped_qty", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_orders.id"], name=op.f("fk_sales_order_lines_order_id_sales_orders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_sales_order_lines_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order_lines")),
        sa.UniqueConstraint("order_id", "entry_id", name=op.f("uq_sales_order_lines_order_id")),
    )
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_order_lines_due_date"), ["due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_order_lines_product_id"), ["product_id"], unique=False)

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("planned_qty", sa.Integer(), nullable=False),
        sa.Column("daily_plan_qty", sa.Integer(), nullable=False),
        sa.Column("planned_start", domain.types.UTCDateTime(), nullable=False),
        sa.Column("planned_finish", domain.types.UTCDateTime(), nullable=False),
        sa.Column("mould", sa.String(length=40), nullable=True),
        sa.Column("machine", sa.String(length=40), nullable=True),
        sa.Column("workshop", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "closed",
                "voided",
                name="workorderstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("kis_icmo_bill_no", sa.String(length=50), nullable=True),
        sa.Column("started_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", domain.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"], ["sales_order_lines.id"], name=op.f("fk_work_orders_line_id_sales_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_work_orders_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("code", name=op.f("uq_work_orders_code")),
        sa.UniqueConstraint("kis_icmo_bill_no", name=op.f("uq_work_orders_kis_icmo_bill_no")),
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_orders_line_id"), ["line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_machine"), ["machine"], unique=False)
        batch_op.create_index("ix_work_orders_status_start", ["status", "planned_start"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_workshop"), ["workshop"], unique=False)

    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "acknowledged", "closed", name="exceptionstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("opened_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["people.id"], name=op.f("fk_exceptions_acknowledged_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["people.id"], name=op.f("fk_exceptions_closed_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["people.id"], name=op.f("fk_exceptions_reporter_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name=op.f("fk_exceptions_work_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
        sa.UniqueConstraint("source_key", name=op.f("uq_exceptions_source_key")),
    )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exceptions_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_exceptions_work_order_id"), ["work_order_id"], unique=False)

    op.create_table(
        "kis_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("work_day", sa.Date(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("defect_qty", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "sent", "imported", "rejected", name="outboxstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("kis_bill_no", sa.String(length=50), nullable=True),
        sa.Column("kis_message", sa.String(length=255), nullable=True),
        sa.Column("created_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", domain.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name=op.f("fk_kis_outbox_work_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kis_outbox")),
        sa.UniqueConstraint("source_key", name=op.f("uq_kis_outbox_source_key")),
    )
    with op.batch_alter_table("kis_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kis_outbox_status"), ["status"], unique=False)

    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("workshop", sa.String(length=40), nullable=False),
        sa.Column("good_qty", sa.Integer(), nullable=False),
        sa.Column("defect_qty", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "in_progress", "done", name="operationstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("started_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", domain.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name=op.f("fk_operations_work_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.UniqueConstraint("work_order_id", "seq", name=op.f("uq_operations_work_order_id")),
    )
    op.create_table(
        "exception_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("thumb_path", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", domain.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exception_id"], ["exceptions.id"], name=op.f("fk_exception_photos_exception_id_exceptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_photos")),
        sa.UniqueConstraint("source_key", name=op.f("uq_exception_photos_source_key")),
    )
    with op.batch_alter_table("exception_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exception_photos_exception_id"), ["exception_id"], unique=False)

    op.create_table(
        "repair_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.Column("machine", sa.String(length=40), nullable=True),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "accepted", "on_site", "done", name="ticketstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("opened_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("accepted_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("arrived_at", domain.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", domain.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exception_id"], ["exceptions.id"], name=op.f("fk_repair_tickets_exception_id_exceptions")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["people.id"], name=op.f("fk_repair_tickets_technician_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_tickets")),
        sa.UniqueConstraint("exception_id", name=op.f("uq_repair_tickets_exception_id")),
    )
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_tickets_status"), ["status"], unique=False)

    op.create_table(
        "work_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("good_qty", sa.Integer(), nullable=False),
        sa.Column("defect_qty", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reported_at", domain.types.UTCDateTime(), nullable=False),
        sa.Column("work_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_work_reports_operation_id_operations")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["people.id"], name=op.f("fk_work_reports_operator_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name=op.f("fk_work_reports_work_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_reports")),
        sa.UniqueConstraint("source_key", name=op.f("uq_work_reports_source_key")),
    )
    with op.batch_alter_table("work_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_reports_operation_id"), ["operation_id"], unique=False)
        batch_op.create_index("ix_work_reports_operator_time", ["operator_id", "reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_reports_work_day"), ["work_day"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_reports_work_order_id"), ["work_order_id"], unique=False)

    op.create_table(
        "points_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("work_report_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("work_day", sa.Date(), nullable=False),
        sa.Column("created_at", domain.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_points_ledger_person_id_people")),
        sa.ForeignKeyConstraint(
            ["work_report_id"], ["work_reports.id"], name=op.f("fk_points_ledger_work_report_id_work_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint("work_report_id", name=op.f("uq_points_ledger_work_report_id")),
    )
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_points_person_day", ["person_id", "work_day"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_person_day")

    op.drop_table("points_ledger")
    with op.batch_alter_table("work_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_reports_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_work_reports_work_day"))
        batch_op.drop_index("ix_work_reports_operator_time")
        batch_op.drop_index(batch_op.f("ix_work_reports_operation_id"))

    op.drop_table("work_reports")
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_tickets_status"))

    op.drop_table("repair_tickets")
    with op.batch_alter_table("exception_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exception_photos_exception_id"))

    op.drop_table("exception_photos")
    op.drop_table("operations")
    with op.batch_alter_table("kis_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kis_outbox_status"))

    op.drop_table("kis_outbox")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exceptions_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_exceptions_status"))

    op.drop_table("exceptions")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_orders_workshop"))
        batch_op.drop_index("ix_work_orders_status_start")
        batch_op.drop_index(batch_op.f("ix_work_orders_machine"))
        batch_op.drop_index(batch_op.f("ix_work_orders_line_id"))

    op.drop_table("work_orders")
    with op.batch_alter_table("sales_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_order_lines_product_id"))
        batch_op.drop_index(batch_op.f("ix_sales_order_lines_due_date"))

    op.drop_table("sales_order_lines")
    with op.batch_alter_table("sales_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_orders_status"))
        batch_op.drop_index(batch_op.f("ix_sales_orders_customer_id"))

    op.drop_table("sales_orders")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index("ix_alerts_rule_subject")

    op.drop_table("alerts")
    op.drop_table("sync_state")
    op.drop_table("products")
    with op.batch_alter_table("processed_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_messages_created_at"))

    op.drop_table("processed_messages")
    op.drop_table("people")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name"))

    op.drop_table("customers")
