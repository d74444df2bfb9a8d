"""The runner's HTTP endpoint, with real Runners (and a real ``omnitui serve``) on free
loopback ports: /healthz while the lease is held, nothing on a standby, the server moving
with the lease, a taken port shown as the "http" state and retried, SIGTERM still stopping
``omnitui serve``, and the CLI never loading starlette or uvicorn.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnitui.config import Settings
from omnitui.runner import Runner
from tests.runner_support import (
    async_wait_until,
    query,
    serve,
    settings_for,
    stop,
    wait_until,
    write_config,
)
from tests.telegram_api import BotApiServer
from tests.test_mail_channel import running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> httpx.Response | None:
    """GET ``url``; None when nothing listens there."""
    try:
        return httpx.get(url, timeout=5, trust_env=False)
    except httpx.TransportError:
        return None


def status(url: str) -> int:
    response = get(url)
    return response.status_code if response is not None else 0


def http_settings(tmp_path: Path, store_url: str, port: int, **sections: Any) -> Settings:
    return settings_for(tmp_path, store_url, http={"listen": f"127.0.0.1:{port}"}, **sections)


def bot_section(api: BotApiServer) -> dict[str, Any]:
    """A bot in poll mode against the stand-in: a connector with a state to report."""
    return {
        "bot": {
            "token": api.token,
            "base_url": api.base_url,
            "base_file_url": api.base_file_url,
            "poll_timeout_seconds": 5,
        }
    }


async def test_healthz_answers_while_the_lease_is_held_and_a_standby_does_not_listen(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    port, standby_port = free_port(), free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    standby_health = f"http://127.0.0.1:{standby_port}/healthz"
    holder = Runner(http_settings(tmp_path, url, port, telegram=bot_section(bot_api)))
    stop_holder = asyncio.Event()
    holder_task = asyncio.create_task(holder.run(stop_holder))
    try:
        await async_wait_until(lambda: holder.holding, 10, "the lease")
        await async_wait_until(lambda: status(health) == 200, 10, "/healthz")
        await async_wait_until(
            lambda: get(health).json()["connectors"] == {"bot": "running"},  # type: ignore[union-attr]
            10,
            "the bot running",
        )
        answer = await asyncio.to_thread(get, health)
        assert answer is not None and answer.headers["content-type"] == "application/json"
        assert answer.json() == {
            "ok": True,
            "runner": holder.holder,
            "lease_generation": holder.generation,
            "connectors": {"bot": "running"},
        }
        [(state, error, detail)] = query(
            store, "SELECT state, error, detail FROM connectorstate WHERE account = 'http'"
        )
        assert (state, error, detail) == ("running", None, f"listening on 127.0.0.1:{port}")

        # A second runner on the same store waits in standby: no listener, unhealthy.
        async with running(http_settings(tmp_path, url, standby_port)) as standby:
            await asyncio.sleep(1.5)
            assert not standby.holding
            assert await asyncio.to_thread(status, standby_health) == 0
            ok, body = standby.health()
            assert not ok and body["ok"] is False and body["lease_generation"] is None
            assert await asyncio.to_thread(status, health) == 200

            # The holder stops: its server closes, and the standby's opens with the lease.
            stop_holder.set()
            await asyncio.wait_for(holder_task, 15)
            assert await asyncio.to_thread(status, health) == 0
            await async_wait_until(lambda: standby.holding, 15, "the takeover")
            await async_wait_until(lambda: status(standby_health) == 200, 10, "new /healthz")
            body = (await asyncio.to_thread(get, standby_health)).json()  # type: ignore[union-attr]
            assert body["runner"] == standby.holder
            assert body["lease_generation"] == standby.generation
            assert standby.generation is not None and standby.generation > 1
    finally:
        stop_holder.set()
        await asyncio.wait_for(holder_task, 15)


async def test_a_taken_port_is_an_http_error_retried_while_connectors_run(
    bot_api: BotApiServer, tmp_path: Path, store_url: str
) -> None:
    url = store = store_url
    blocker = socket.create_server(("127.0.0.1", 0))
    port = blocker.getsockname()[1]
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        async with running(http_settings(tmp_path, url, port, telegram=bot_section(bot_api))):
            rows = await async_wait_until(
                lambda: query(
                    store,
                    "SELECT state, error FROM connectorstate WHERE account = 'http' "
                    "AND state = 'backoff'",
                ),
                10,
                "the http error",
            )
            [(_, error)] = rows
            assert error == f"could not listen on 127.0.0.1:{port}: Address already in use"
            await async_wait_until(
                lambda: (
                    query(store, "SELECT state FROM connectorstate WHERE account = 'bot'")
                    == [("running",)]
                ),
                10,
                "the bot running all the same",
            )
            blocker.close()
            await async_wait_until(lambda: status(health) == 200, 10, "/healthz once free")
            [(state, error)] = query(
                store, "SELECT state, error FROM connectorstate WHERE account = 'http'"
            )
            assert (state, error) == ("running", None)
    finally:
        blocker.close()
    assert query(store, "SELECT state FROM connectorstate WHERE account = 'http'") == [("stopped",)]
    assert status(health) == 0


async def test_no_server_unless_asked_or_needed(tmp_path: Path, store_url: str) -> None:
    url = store = store_url
    settings = settings_for(tmp_path, url)
    assert settings.config.http.listen == "auto" and settings.config.http_address is None
    async with running(settings) as runner:
        await async_wait_until(lambda: runner.holding, 10, "the lease")
        await asyncio.sleep(0.3)
        assert runner.http_address is None
    assert query(store, "SELECT * FROM connectorstate WHERE account = 'http'") == []


@pytest.mark.slow
def test_serve_answers_healthz_and_still_stops_on_sigterm(tmp_path: Path, store_url: str) -> None:
    url = store_url
    port = free_port()
    config = write_config(
        tmp_path / "config.toml",
        store={"url": url},
        http={"listen": f"127.0.0.1:{port}"},
    )
    proc = serve(tmp_path, config, "serve")
    try:
        wait_until(lambda: status(f"http://127.0.0.1:{port}/healthz") == 200, 20, "/healthz")
        assert get(f"http://127.0.0.1:{port}/nothing-here").status_code == 404  # type: ignore[union-attr]
    finally:
        code = stop(proc)
    assert code == 0, (tmp_path / "serve.err").read_text()
    assert status(f"http://127.0.0.1:{port}/healthz") == 0


def test_the_cli_and_the_runner_module_load_no_web_server() -> None:
    code = (
        "import sys, omnitui.cli, omnitui.connectors.base, omnitui.runner; "
        "bad = [m for m in ('starlette', 'uvicorn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
