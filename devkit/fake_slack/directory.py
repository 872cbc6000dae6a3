"""Who is who: auth.test, users.info, usergroups.users.list."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.web_api import Handler, required

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack


async def auth_test(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    ws = fake.workspace
    bot_user = ws.users.get(ws.bot_user_id, {})
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain.title(),
        "user": bot_user.get("name", "kibana-chatops"),
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


async def users_info(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "user")
    user = fake.workspace.users.get(str(params["user"]))
    if user is None:
        raise SlackApiFailure("user_not_found")
    return {"ok": True, "user": copy.deepcopy(user)}


async def usergroups_users_list(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "usergroup")
    members = fake.workspace.usergroups.get(str(params["usergroup"]))
    if members is None:
        raise SlackApiFailure("no_such_subteam")
    return {"ok": True, "users": list(members)}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
}
