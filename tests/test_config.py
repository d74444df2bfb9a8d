"""The config file: every key documented, every mistake named, secrets kept out of it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
from pydantic import BaseModel

from omnitui.config import (
    Config,
    ConfigError,
    EmailAccount,
    ImapConfig,
    Settings,
    SmtpConfig,
    TelegramAccount,
    WebChatAccount,
    load,
    parse,
    read,
    resolve_secret,
)

EXAMPLE = files("omnitui").joinpath("config.example.toml").read_text("utf-8")


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _keys(annotation, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_the_example_loads_and_equals_the_defaults() -> None:
    assert Config.model_validate(tomllib.loads(EXAMPLE)) == Config()


@pytest.mark.parametrize("key", _keys(Config))
def test_every_key_is_documented_in_the_example(key: str) -> None:
    *sections, name = key.split(".")
    if sections:
        assert f"[{'.'.join(sections)}]" in EXAMPLE
    assert f"\n{name} =" in EXAMPLE or f"\n# {name} =" in EXAMPLE or f"[{name}]" in EXAMPLE


@pytest.mark.parametrize(
    "key",
    [
        *[k for k in _keys(EmailAccount, "email.NAME.") if not k.endswith(("imap", "smtp"))],
        *[k.replace("imap.", "email.NAME.imap.") for k in _keys(ImapConfig, "imap.")],
        *[k.replace("smtp.", "email.NAME.smtp.") for k in _keys(SmtpConfig, "smtp.")],
    ],
)
def test_every_email_account_key_is_documented_in_the_example(key: str) -> None:
    name = key.rsplit(".", 1)[1]
    assert f"\n# {name} =" in EXAMPLE


@pytest.mark.parametrize("key", _keys(TelegramAccount, "telegram.NAME."))
def test_every_telegram_account_key_is_documented_in_the_example(key: str) -> None:
    name = key.rsplit(".", 1)[1]
    assert f"\n# {name} =" in EXAMPLE


@pytest.mark.parametrize("key", _keys(WebChatAccount, "webchat.NAME."))
def test_every_webchat_account_key_is_documented_in_the_example(key: str) -> None:
    name = key.rsplit(".", 1)[1]
    assert f"\n# {name} =" in EXAMPLE


def test_a_webchat_account_from_the_example_validates_and_turns_the_server_on() -> None:
    block = EXAMPLE[EXAMPLE.index("# [webchat.site]") : EXAMPLE.index("[keys]")]
    setting = re.compile(r"^(\[webchat\.[a-z]+\]|[a-z_]+ = .*)$")
    lines = [line.removeprefix("# ") for line in block.splitlines()]
    config = parse(tomllib.loads("\n".join(line for line in lines if setting.match(line))))
    site = config.webchat["site"]
    assert site.secret_env == "OMNITUI_WEBCHAT_SECRET" and site.token_days == 30
    assert config.http_address == ("127.0.0.1", 8765)


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ({}, "needs secret or secret_env"),
        ({"secret": "short"}, "at least 16 characters"),
        ({"secret_env": "X", "allowed_origins": ["https://a.example/"]}, "is not an origin"),
        ({"secret_env": "X", "messages_per_minute": 0}, "greater than or equal to 1"),
    ],
)
def test_a_wrong_webchat_account_is_named(account: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=r"webchat\.site.*" + problem):
        parse({"webchat": {"site": account}}, "omnitui.toml")


def test_a_webchat_needs_the_http_server_and_a_name_of_its_own() -> None:
    with pytest.raises(ConfigError, match=r"\[webchat\.site\] is served by the HTTP server"):
        parse({"http": {"listen": ""}, "webchat": {"site": {"secret_env": "X"}}})
    with pytest.raises(ConfigError, match=r"both \[telegram\.site\] and \[webchat\.site\]"):
        parse({"telegram": {"site": {"token": "1:x"}}, "webchat": {"site": {"secret_env": "X"}}})


def test_the_email_account_of_a_webchat_must_exist_or_be_the_only_one() -> None:
    chat = {"secret_env": "X", "email_account": "sales"}
    mailbox = {"address": "support@acme.example"}
    with pytest.raises(ConfigError, match=r"\[webchat\.site\] email_account = 'sales'.*none"):
        parse({"webchat": {"site": chat}}, "omnitui.toml")
    config = parse({"webchat": {"site": {"secret_env": "X"}}, "email": {"support": mailbox}})
    assert config.email_account_for("site") == "support"  # the only one
    two = {"support": mailbox, "sales": {"address": "sales@acme.example"}}
    config = parse({"webchat": {"site": {"secret_env": "X"}}, "email": two})
    assert config.email_account_for("site") is None  # which one is the team's to say
    assert parse({"webchat": {"site": chat}, "email": two}).email_account_for("site") == "sales"


def test_a_telegram_account_from_the_example_validates() -> None:
    block = EXAMPLE[EXAMPLE.index("# [telegram.bot]") : EXAMPLE.index("# [webchat]")]
    setting = re.compile(r"^(\[telegram\.[a-z]+\]|[a-z_]+ = .*)$")
    text = "\n".join(
        line[2:] for line in block.splitlines() if setting.match(line[2:]) and "token" not in line
    )
    bot = parse(tomllib.loads(text + '\ntoken_env = "X"')).telegram["bot"]
    assert bot == TelegramAccount(token_env="X")
    assert bot.poll_timeout_seconds == 50 and bot.max_file_mb == 20


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ({}, "needs token, token_env or token_cmd"),
        ({"token": "1:x", "mode": "webhook"}, "webhook mode needs webhook_secret"),
        ({"token": "1:x", "base_url": "http://api.example/bot"}, "loopback"),
        ({"token": "1:x", "poll_timeout_seconds": 0}, "greater than or equal to 1"),
    ],
)
def test_a_wrong_telegram_account_is_named(account: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=r"omnitui\.toml: telegram\.bot.*: .*" + problem):
        parse({"telegram": {"bot": account}}, "omnitui.toml")


def test_an_account_name_is_one_channel_s() -> None:
    with pytest.raises(ConfigError, match=r"both \[email\.support\] and \[telegram\.support\]"):
        parse(
            {
                "email": {"support": {"address": "s@acme.example"}},
                "telegram": {"support": {"token": "1:x"}},
            }
        )
    assert parse({"telegram": {"bot": {"token": "1:x", "base_url": "http://127.0.0.1:8081/bot"}}})


def test_an_email_account_from_the_example_validates() -> None:
    block = EXAMPLE[EXAMPLE.index("# [email.support]") : EXAMPLE.index("# [telegram]")]
    setting = re.compile(r"^(\[email\.[a-z.]+\]|[a-z_]+ = .*)$")
    text = "\n".join(
        line[2:]
        for line in block.splitlines()
        if setting.match(line[2:]) and "password" not in line
    )
    account = parse(tomllib.loads(text)).email["support"]
    assert account.address == "support@acme.example"
    assert account.ours == {"support@acme.example", "help@acme.example"}
    assert account.imap is not None and account.imap.folders == ("INBOX",)
    assert account.smtp is not None and account.smtp.security == "tls"


def test_plain_imap_is_refused_towards_a_remote_host() -> None:
    data = {
        "email": {
            "support": {
                "address": "s@acme.example",
                "imap": {"host": "imap.acme.example", "security": "plain"},
            }
        }
    }
    with pytest.raises(ConfigError, match=r"email\.support\.imap: .*loopback"):
        parse(data, "omnitui.toml")
    data["email"]["support"]["imap"]["host"] = "127.0.0.1"
    assert parse(data).email["support"].imap is not None


def test_a_missing_optional_file_gives_defaults_a_missing_given_one_is_an_error(
    tmp_path: Path,
) -> None:
    assert load(tmp_path / "none.toml") == Config()
    with pytest.raises(ConfigError, match=r"none\.toml: file not found"):
        load(tmp_path / "none.toml", required=True)


def test_without_a_file_the_defaults_come_without_pydantic(tmp_path: Path) -> None:
    assert read(tmp_path / "none.toml") is None
    settings = Settings(
        data_dir=tmp_path,
        config_path=tmp_path / "none.toml",
        config=None,
        agent="a",
        store_url="sqlite:///x.db",
        run_runner=False,
        log_file=tmp_path / "log",
    )
    assert settings.keys == {}
    assert settings.config == Config()
    assert settings.with_config(Config(keys={"reply": "e"})).keys == {"reply": "e"}
    code = (
        "import sys, pathlib\n"
        "from omnitui.config import Settings, read\n"
        "assert read(pathlib.Path(sys.argv[1])) is None\n"
        "Settings(data_dir=pathlib.Path('.'), config_path=pathlib.Path(sys.argv[1]), config=None,"
        " agent='a', store_url='sqlite:///x.db', run_runner=False,"
        " log_file=pathlib.Path('log')).timezone\n"
        "assert 'pydantic' not in sys.modules, 'pydantic loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "none.toml")], check=True)


def test_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"[agent]\nname = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8 at byte 16"):
        load(path)


def test_secrets_from_env_or_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNITUI_TEST_SECRET", "s3cret")
    assert resolve_secret("imap.password", None, "OMNITUI_TEST_SECRET", None) == "s3cret"
    script = tmp_path / "pass.py"
    script.write_text("print('from a command')\n")
    # Run without a shell: a ';' or '$(...)' in the command is an argument, not syntax.
    cmd = f"{sys.executable} {script} ';' '$(touch {tmp_path}/pwned)'"
    assert resolve_secret("imap.password", None, None, cmd) == "from a command"
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(ConfigError, match=r"imap\.password: environment variable NOPE is not set"):
        monkeypatch.delenv("NOPE", raising=False)
        resolve_secret("imap.password", None, "NOPE", None)
    with pytest.raises(ConfigError, match="command failed"):
        resolve_secret("imap.password", None, None, f"{sys.executable} -c 'raise SystemExit(3)'")


def test_a_config_validated_before_is_trusted_only_for_the_first_paint(tmp_path: Path) -> None:
    from omnitui.config import Checked, Settings, read

    path = tmp_path / "config.toml"
    path.write_text('[agent]\nname = "leyla"\ntimezone = "Asia/Baku"\n[keys]\nsend = "f5"\n')
    checked = tmp_path / "checked"
    first = read(path, checked_dir=checked, trust_checked=True)
    assert isinstance(first, Config)  # never seen: validated, then remembered
    again = read(path, checked_dir=checked, trust_checked=True)
    assert isinstance(again, Checked) and again.get("agent", "name") == "leyla"
    assert isinstance(read(path, checked_dir=checked), Config)  # other verbs validate
    settings = Settings(
        data_dir=tmp_path, config_path=path, config=again, agent="leyla",
        store_url="sqlite://", run_runner=False, log_file=tmp_path / "log",
    )  # fmt: skip
    assert settings.keys == {"send": "f5"} and str(settings.timezone) == "Asia/Baku"
    assert settings.config.agent.timezone == "Asia/Baku"  # validated on first use

    path.write_text('[agent]\nname = "leyla"\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"agent\.timezone"):
        read(path, checked_dir=checked, trust_checked=True)  # new bytes: validated again
    with pytest.raises(ConfigError):
        read(path, checked_dir=checked, trust_checked=True)  # and never remembered


FIRST_USE_TOGETHER = """
import sys, threading, tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from omnitui.config import Checked, Settings

path = Path(sys.argv[1])
checked = Checked(path, tomllib.loads(path.read_text())) if sys.argv[2] == "file" else None
settings = Settings(
    data_dir=path.parent, config_path=path, config=checked, agent="leyla",
    store_url="sqlite://", run_runner=False, log_file=path.parent / "log",
)
start = threading.Barrier(8)

def first_use():
    start.wait()
    return settings.config

with ThreadPoolExecutor(8) as pool:
    futures = [pool.submit(first_use) for _ in range(8)]
errors = {repr(f.exception()) for f in futures if f.exception() is not None}
configs = {id(f.result()) for f in futures if f.exception() is None}
print(sorted(errors), len(configs), configs == {id(settings.config)})
"""


@pytest.mark.parametrize("file", ["none", "file"])
def test_threads_using_the_config_first_together_share_one(tmp_path: Path, file: str) -> None:
    """The TUI's first use of ``settings.config`` is on two threads at once (the notifier's
    start, the views' counts), while the first one imports pydantic: each gets the one
    Config, built once. (It used to be "'Config' object has no attribute 'data'".)"""
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE)
    run = subprocess.run(
        [sys.executable, "-c", FIRST_USE_TOGETHER, str(path), file],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split("\n")[0] == "[] 1 True", run.stdout + run.stderr


def test_the_first_paint_path_loads_no_pydantic_for_a_known_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(EXAMPLE)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    code = (
        "import sys; from pathlib import Path; from omnitui.cli import _Options; "
        f"o = _Options(Path({str(tmp_path)!r}), Path({str(cfg)!r}), None, True, None); "
        "s = o.load_settings(first_paint=True); "
        "print('pydantic' in sys.modules, s.agent, s.keys)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert [r.stdout.split()[0] for r in runs] == ["True", "False"], [r.stderr for r in runs]


# -- [http] and Telegram webhook mode -------------------------------------------------------

WEBHOOK_BOT = {"token": "1:x", "mode": "webhook", "webhook_secret": "a-Secret_1"}


def test_the_http_server_listens_when_asked_or_when_a_webhook_needs_it() -> None:
    assert parse({}).http_address is None  # "auto" and nothing needs it
    assert parse({"http": {"listen": "0.0.0.0:9000"}}).http_address == ("0.0.0.0", 9000)
    assert parse({"http": {"listen": "[::1]:9000"}}).http_address == ("::1", 9000)
    webhook = parse(
        {"http": {"public_url": "https://support.acme.example/"}, "telegram": {"b": WEBHOOK_BOT}}
    )
    assert webhook.http_address == ("127.0.0.1", 8765)
    assert webhook.http.public_url == "https://support.acme.example"  # no trailing slash
    assert webhook.telegram["b"].path_for("b") == "/telegram/b"
    off = {
        "http": {"listen": "", "public_url": "https://a.example"},
        "telegram": {"b": WEBHOOK_BOT},
    }
    with pytest.raises(ConfigError, match=r'\[telegram\.b\] is in webhook mode.*listen is ""'):
        parse(off)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"http": {"listen": "8765"}}, r"http\.listen: .*HOST:PORT"),
        ({"http": {"listen": "127.0.0.1:0"}}, r"http\.listen: .*HOST:PORT"),
        ({"http": {"listen": "127.0.0.1:70000"}}, r"http\.listen: .*HOST:PORT"),
        ({"http": {"public_url": "support.acme.example"}}, r"http\.public_url: .*http\(s\) URL"),
        ({"http": {"public_url": "https://a.example/?x=1"}}, r"http\.public_url: .*query"),
        ({"telegram": {"b": WEBHOOK_BOT}}, r"\[telegram\.b\] is in webhook mode.*public_url"),
        (
            {"telegram": {"b": {"token": "1:x", "mode": "webhook"}}},
            r"telegram\.b: .*webhook mode needs webhook_secret or webhook_secret_env",
        ),
        (
            {"telegram": {"b": {"token": "1:x", "webhook_secret": "has space"}}},
            r"telegram\.b\.webhook_secret: .*1-256 characters",
        ),
        (
            {"telegram": {"b": {"token": "1:x", "webhook_path": "telegram"}}},
            r"telegram\.b\.webhook_path: .*starting with /",
        ),
        (
            {"telegram": {"b": {"token": "1:x", "webhook_path": "/healthz"}}},
            r"telegram\.b\.webhook_path: .*the HTTP server's own route",
        ),
        (
            {
                "http": {"public_url": "https://a.example"},
                "telegram": {
                    "a": {**WEBHOOK_BOT, "webhook_path": "/tg"},
                    "b": {**WEBHOOK_BOT, "webhook_path": "/tg/"},
                },
            },
            r"\[telegram\.b\] and \[telegram\.a\] both receive at /tg",
        ),
        ({"telegram": {"http": {"token": "1:x"}}}, r"account name 'http' is reserved"),
    ],
)
def test_a_wrong_http_or_webhook_setting_is_named(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse(data, "omnitui.toml")


def test_a_config_error_never_shows_a_secret() -> None:
    bad = [
        {"telegram": {"b": {"token": "123:SECRET-TOKEN", "mode": "webhook"}}},
        {"telegram": {"b": {"token": "123:SECRET-TOKEN", "webhook_secret": "SECRET TOKEN"}}},
        {"http": {"listen": ""}, "telegram": {"b": {**WEBHOOK_BOT, "token": "1:SECRET-TOKEN"}}},
    ]
    for data in bad:
        with pytest.raises(ConfigError) as caught:
            parse(data, "omnitui.toml")
        assert "SECRET" not in str(caught.value)


def test_the_keymap_names_known_bindings_only() -> None:
    assert parse({"keymap": {"reply": "e", "send": "ctrl+s,f5"}}).bindings == {
        "reply": "e",
        "send": "ctrl+s,f5",
    }
    assert parse({"keys": {"reply": "e"}}).bindings == {"reply": "e"}  # the older name
    with pytest.raises(
        ConfigError, match=r"keymap.*unknown binding id 'replly' \(did you mean 'reply'"
    ):
        parse({"keymap": {"replly": "e"}}, "omnitui.toml")
    with pytest.raises(ConfigError, match=r"keymap.*send = \"ctrl\+s,\": no key"):
        parse({"keymap": {"send": "ctrl+s,"}}, "omnitui.toml")
    with pytest.raises(ConfigError, match=r"keep \[keymap\] alone"):
        parse({"keymap": {"reply": "e"}, "keys": {"note": "m"}}, "omnitui.toml")
