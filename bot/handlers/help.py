"""帮助 and the welcome on entering the app: what this person's roles allow."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from domain.vocab import ROLE_LABELS, Role
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("help")

# (help line, roles allowed or empty for everyone) in route order. The router (bot/handlers/__init__.py)
# imports this module, so this module cannot import it back: the router fills this in once it is built.
ROUTER_HELP: list[tuple[str, frozenset[str]]] = []


def help_text(ctx: Ctx) -> str:
    roles = "、".join(ROLE_LABELS[Role(r)] for r in sorted(ctx.user.roles) if r in Role.__members__.values())
    lines = [f"{ctx.user.name}您好（{roles or '未分配角色'}），您可以："]
    for help_line, allowed in ROUTER_HELP:
        if not allowed or ctx.user.roles & allowed:
            lines.append(f"· {help_line}")
    return "\n".join(lines)


# A greeting is how a new user starts: it gets the same answer as 帮助, not a customer search.
GREETING = r"(?:你好|您好|哈喽|嗨|在吗|在不在|hi|hello|hey|早上好|下午好|晚上好)[啊呀吗呢!！~。.]*"


@routes.text(rf"帮助|help|菜单|功能|\?|？|{GREETING}", read_only=True, help="帮助：显示本说明")
def show_help(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(help_text(ctx))


@routes.menu("help", name="帮助", under="更多", position=39, read_only=True)
def help_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(help_text(ctx))


@routes.event("enter_agent", read_only=True)
def welcome(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(help_text(ctx))
