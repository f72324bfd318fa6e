"""Run the fake WeCom app on a free local port in a background thread (tests, demo)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from wecom.fake.app import create_fake_wecom
from wecom.fake.directory import Directory


class FakeWeComServer:
    """Context manager: `with FakeWeComServer() as wecom: WeComClient(..., api_base=wecom.url)`.

    Helper methods talk to the control endpoints over real HTTP, like any other process would.
    """

    def __init__(
        self,
        corp_id: str = "wwfakecorp0001",
        secret: str = "fake-secret-0123456789",
        agent_id: int = 1000002,
        users: Mapping[str, str] | None = None,
        *,
        strict_users: bool = False,
        clock: Callable[[], float] = time.time,
        directory: Directory | None = None,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.app = create_fake_wecom(corp_id, secret, agent_id, users, strict_users=strict_users, clock=clock,
                                     directory=directory)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._http = requests.Session()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWeComServer is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeWeComServer:
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-wecom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server.server_close()
        self._http.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeWeComServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- control endpoints ---------------------------------------------------------------

    def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        res = self._http.post(self.url + path, timeout=10, **kwargs)
        res.raise_for_status()
        return res.json()

    def calls(self, userid: str | None = None, path: str | None = None, *,
              duplicates: bool = False) -> list[dict[str, Any]]:
        """The API calls made, oldest first. A message/send the duplicate check answered without delivering
        (`"duplicate": true`) is left out unless `duplicates`: by default this is what people received."""
        params = {k: v for k, v in (("userid", userid), ("path", path)) if v is not None}
        if duplicates:
            params["duplicates"] = "1"
        res = self._http.get(self.url + "/_fake/calls", params=params, timeout=10)
        res.raise_for_status()
        return res.json()

    def reset(self) -> None:
        self._post("/_fake/reset")

    def fault(
        self,
        path: str,
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        delay: float = 0.0,
        count: int = 1,
        errmsg: str | None = None,
        from_ip: str | None = None,
        touser: str | None = None,
        after: bool = False,
    ) -> None:
        """Make the next `count` calls to `path` (e.g. "message/send") fail or stall. An errcode is answered
        with WeCom's errmsg for it (60020 names `from_ip`, by default the caller's), unless `errmsg` is given.
        `touser`: only calls addressed to this member take the fault. `after=True` with `delay`: the call is
        performed and logged, then its answer held back `delay` seconds (a timeout after success)."""
        self._post(
            "/_fake/faults",
            json={
                "path": path,
                "errcode": errcode,
                "http_status": http_status,
                "delay": delay,
                "count": count,
                "errmsg": errmsg,
                "from_ip": from_ip,
                "touser": touser,
                "after": after,
            },
        )

    def recipients(self, *, unlicensed: tuple[str, ...] = (), out_of_range: tuple[str, ...] = (),
                   no_account: tuple[str, ...] = (), invalid_parties: tuple[str, ...] = ()) -> None:
        """From now on message/send answers errcode 0 but names these as not reached: `unlicensed` in
        unlicenseduser; `out_of_range` and `no_account` in invaliduser (user/get then answers 60011 or 60111);
        `invalid_parties` in invalidparty. A call replaces the last one; reset() clears it."""
        self._post("/_fake/recipients", json={"unlicensed": list(unlicensed), "out_of_range": list(out_of_range),
                                              "no_account": list(no_account),
                                              "invalid_parties": list(invalid_parties)})

    def oauth_code(self, userid: str) -> str:
        return str(self._post("/_fake/oauth_code", json={"userid": userid})["code"])

    def stage_media(self, data: bytes, filename: str = "photo.jpg", kind: str = "image") -> str:
        """Store media as if a user had sent it; returns the media_id a callback would carry."""
        return str(
            self._post("/_fake/media", files={"media": (filename, data)}, data={"type": kind})["media_id"]
        )

    def set_directory(self, departments: list[dict[str, Any]], users: list[dict[str, Any]]) -> None:
        """Replace the address book department/list and user/list answer from (reset restores the first)."""
        self._post("/_fake/directory", json={"departments": departments, "users": users})

    def revoke_tokens(self) -> None:
        """Invalidate the current access_token early, as WeCom sometimes does."""
        self._post("/_fake/revoke_tokens")

    def response_code(self, userid: str | None = None, task_id: str | None = None) -> str:
        """A fresh ResponseCode as a template_card_event would carry it."""
        return str(
            self._post("/_fake/response_code", json={"userid": userid, "task_id": task_id})["response_code"]
        )
