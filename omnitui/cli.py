"""The command line: `omnitui` opens the TUI; verbs script everything else.

Imports only click at module level: `omnitui --help` must answer at once, and
Textual is imported only when the TUI starts (a test checks both). A config
error exits 2 with one line naming the file and the key; a malformed search query
exits 2 with one line naming the term and its column, then the query with a caret.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from omnitui import __version__, i18n
from omnitui.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from concurrent.futures import Future
    from datetime import date, datetime

    from omnitui import reports
    from omnitui.bot import KbImported
    from omnitui.config import Settings
    from omnitui.inbox import CannedImported
    from omnitui.kb import KbRow
    from omnitui.mailimport import ImportResult
    from omnitui.readrows import CannedRow
    from omnitui.reads import CustomerPage

EXIT_CONFIG = 2
DEMO_DIR = "demo"
READ_AHEAD_ROWS = 200
"""Customers read while Textual loads: one block of the customer list (its BLOCK)."""

_T = TypeVar("_T")


def _default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("omnitui", appauthor=False)


def _default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("omnitui", appauthor=False) / "config.toml"


def _checked_config_dir() -> Path:
    """Where the stamps of config files validated before are kept (the XDG cache dir)."""
    from platformdirs import user_cache_path

    return user_cache_path("omnitui", appauthor=False) / "checked-config"


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"omnitui: {message}", err=True)
    sys.exit(code)


# Help texts are marked with N_ where the commands are defined (at import, before the
# language is chosen) and translated when click reads them to show the help: ``help`` is
# a property that gives the text in the language chosen by then (``i18n.translated`` on the marked
# text; the catalogs have it from the N_). Click's own words ("Usage:", "Options:", its
# errors) stay click's.


class _Option(click.Option):
    """An option whose help is shown in the console's language."""

    @property
    def help(self) -> str | None:
        return i18n.translated(self._help) if self._help else self._help

    @help.setter
    def help(self, value: str | None) -> None:
        self._help = value


class _Command(click.Command):
    """A command whose help (and short help in its group's list) is shown in the console's
    language, and its --help option's too."""

    @property
    def help(self) -> str | None:
        return i18n.translated(self._help) if self._help else self._help

    @help.setter
    def help(self, value: str | None) -> None:
        self._help = value

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option


class _Group(_Command, click.Group):
    """A group shown in the console's language, with its commands and subgroups."""

    command_class = _Command
    group_class = type  # subgroups are _Group too

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `omnitui --help` answers while the options are parsed, before main() chooses the
        # language: the environment's then (and --lang's, were it eager and given first).
        if ctx.parent is None:
            from omnitui.i18n import pick_language, set_language

            set_language(pick_language(ctx.params.get("lang"), None))
        super().format_help(ctx, formatter)


def _option(*decls: str, **attrs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``click.option`` whose help is translated when shown (mark it with N_)."""
    return click.option(*decls, cls=_Option, **attrs)


@dataclass(frozen=True, slots=True)
class _Options:
    """The global flags, turned into Settings on first use (so --help never loads pydantic)."""

    data_dir: Path | None
    config: Path | None
    agent: str | None
    no_runner: bool
    log_file: Path | None
    lang: str | None = None
    db: str | None = None

    def settings(
        self, *, default_data_dir: Path | None = None, first_paint: bool = False
    ) -> Settings:
        """Settings, or exit 2 with the config error's one line.

        ``first_paint`` (the TUI): a config file validated before, byte for byte, is not
        validated again before the first paint; every other verb validates it now.
        """
        from omnitui.config import ConfigError

        try:
            settings = self.load_settings(
                default_data_dir=default_data_dir, first_paint=first_paint
            )
        except ConfigError as exc:
            _fail(str(exc), EXIT_CONFIG)
        _choose_language(self.lang, settings.config_path)
        return settings

    def config_path(self) -> Path:
        return self.config or Path(os.environ.get("OMNITUI_CONFIG") or _default_config_path())

    def load_settings(
        self, *, default_data_dir: Path | None = None, first_paint: bool = False
    ) -> Settings:
        """Settings from the flags and the config file; raises ConfigError."""
        from omnitui.config import Checked, Settings, read

        config_path = self.config_path()
        # None when there is no config file, Checked when these bytes were validated
        # before: either way the first paint does not wait on pydantic.
        config = read(
            config_path,
            required=self.config is not None,
            checked_dir=_checked_config_dir(),
            trust_checked=first_paint,
        )
        if isinstance(config, Checked):
            url, name = config.get("store", "url"), config.get("agent", "name")
            password_env = config.get("store", "password_env")
            password_cmd = config.get("store", "password_cmd")
        else:
            url = config.store.url if config else ""
            name = config.agent.name if config else ""
            password_env = config.store.password_env if config else ""
            password_cmd = config.store.password_cmd if config else ""
        if password_env or password_cmd:
            from omnitui.config import store_password

            store_password(config_path, password_env, password_cmd)
        data_dir = self.data_dir or default_data_dir or _default_data_dir()
        return Settings(
            data_dir=data_dir,
            config_path=config_path,
            config=config,
            store_url=self.db or url or f"sqlite:///{data_dir / 'omnitui.db'}",
            agent=self.agent or name or getpass.getuser(),
            run_runner=not self.no_runner,
            log_file=self.log_file or data_dir / "omnitui.log",
        )


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=N_(
        "A terminal inbox for a support team: email, Telegram and web chat, one history per "
        "customer. Without a command, opens the inbox."
    ),
)
@_option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OMNITUI_DATA_DIR",
    help=N_("Where the store, attachments and logs live [default: the XDG data dir]."),
)
@_option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Config file [default: the XDG config dir's omnitui/config.toml]."),
)
@_option(
    "--db",
    metavar="URL",
    envvar="OMNITUI_DB",
    help=N_(
        "The store: sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME "
        "[default: config [store] url, then omnitui.db in the data dir]."
    ),
)
@_option("--agent", metavar="NAME", help=N_("Who you are [default: the login name]."))
@_option(
    "--no-runner", is_flag=True, help=N_("Never run the connectors and outbox in this process.")
)
@_option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Where to write the log."),
)
@_option(
    "--lang",
    metavar="LANG",
    help=N_(
        "The console's language: en, az, tr or fa [default: config [display] language, "
        "then LC_ALL / LC_MESSAGES / LANG]."
    ),
)
@click.version_option(
    __version__, prog_name="omnitui", help=N_("Show the version and exit."), cls=_Option
)
@click.pass_context
def main(
    ctx: click.Context,
    data_dir: Path | None,
    config: Path | None,
    db: str | None,
    agent: str | None,
    no_runner: bool,
    log_file: Path | None,
    lang: str | None,
) -> None:
    from omnitui.i18n import LANGUAGES, _

    _choose_language(lang if lang in LANGUAGES else None, None)
    if lang is not None and lang not in LANGUAGES:
        message = _("--lang: {value!r} is not one of {languages}")
        _fail(message.format(value=lang, languages=", ".join(LANGUAGES)), EXIT_CONFIG)
    ctx.obj = _Options(data_dir, config, agent, no_runner, log_file, lang, db)
    if ctx.invoked_subcommand is None:
        _pause_gc()
        _open_tui(ctx.obj.settings(first_paint=True))


def _choose_language(flag: str | None, config_path: Path | None) -> None:
    """--lang, then the config's [display] language, then the environment; and [display]
    persian_digits. Runs before the TUI's screens are imported: their key descriptions are
    translated as they load."""
    from omnitui.formatting import set_persian_digits
    from omnitui.i18n import pick_language, set_language

    display = _display_section(config_path)
    language = display.get("language")
    set_language(pick_language(flag, language if isinstance(language, str) else None))
    digits = display.get("persian_digits", True)
    set_persian_digits(digits if isinstance(digits, bool) else True)


def _display_section(config_path: Path | None) -> dict[str, object]:
    """``[display]`` as the file says it, without pydantic (the file was validated, or
    trusted, by ``_Options.settings`` before; the first paint does not wait on pydantic)."""
    if config_path is None:
        return {}
    import tomllib

    try:
        section = tomllib.loads(config_path.read_text("utf-8")).get("display", {})
    except (OSError, ValueError):
        return {}
    return section if isinstance(section, dict) else {}


def _schema_revision(settings: Settings) -> str | None:
    """The store's schema revision, or exit with one line naming the store (never its
    password): 2 when this installation cannot open it (psycopg missing, a malformed URL),
    1 when it is not a store or its server does not answer."""
    from omnitui.reads import SchemaError, StoreUnreachable, StoreURLError, schema_revision

    try:
        return schema_revision(settings.store_url)
    except StoreURLError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except (SchemaError, StoreUnreachable) as exc:
        _fail(str(exc))


def _prepare_store(settings: Settings, *, create: bool) -> None:
    """Check the schema without the ORM; create a new store at head when asked."""
    from omnitui.reads import SCHEMA_HEAD, SchemaError

    revision = _schema_revision(settings)
    if revision == SCHEMA_HEAD:
        return
    from omnitui import db

    try:
        db.ensure_schema(settings.store_url, create=create)
    except SchemaError as exc:
        _fail(str(exc))


def _setup_logging(settings: Settings, *, stderr: bool = False) -> None:
    import logging

    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(settings.log_file, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )


def _pause_gc() -> None:
    """No garbage collection until the TUI's first paint (OmniApp.after_first_paint).

    Starting the TUI creates the objects of every module it imports and of every
    widget, and Python's collector would scan the growing heap again and again for
    next to no garbage: 25 ms of its first paint here, one full pass 15 ms of it.
    """
    import gc

    gc.disable()


def _read_ahead(settings: Settings) -> Future[CustomerPage]:
    """The top of the customer list, read in a thread while Textual is imported.

    The list paints it in its first frame instead of waiting for a worker's read.
    """
    import threading
    from concurrent.futures import Future

    from omnitui.reads import Reader

    page: Future[CustomerPage] = Future()

    def read() -> None:
        try:
            page.set_result(Reader(settings.store_url).customer_page(0, READ_AHEAD_ROWS))
        except Exception as exc:  # the list reads again in its worker, which logs
            page.set_exception(exc)

    threading.Thread(target=read, name="omnitui-read-ahead", daemon=True).start()
    return page


def _run_tui(settings: Settings) -> NoReturn:
    _pause_gc()
    page = _read_ahead(settings)

    def start_runner() -> Any:
        from omnitui.runner import start_in_thread

        return start_in_thread(settings)

    from omnitui.app import run_tui

    sys.exit(run_tui(settings, start_runner if settings.run_runner else None, first_page=page))


def _open_tui(settings: Settings) -> None:
    _prepare_store(settings, create=True)
    _setup_logging(settings)
    _run_tui(settings)


@main.command(help=N_("Write a starter config file (every key documented) and create the store."))
@_option("--force", is_flag=True, help=N_("Overwrite an existing config file."))
@click.pass_obj
def init(opts: _Options, force: bool) -> None:
    from importlib.resources import files

    path = opts.config_path()
    if path.exists() and not force:
        _fail(_("{path} exists; pass --force to overwrite it").format(path=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(files("omnitui").joinpath("config.example.toml").read_text("utf-8"), "utf-8")
    click.echo(_("wrote {path}").format(path=path))
    settings = opts.settings()
    _prepare_store(settings, create=True)
    where = settings.store_url.removeprefix("sqlite:///")
    click.echo(_("store ready at {where}").format(where=where))


@main.command(
    help=N_(
        "Fill a demo store with a synthetic history, then open it with the demo channel live."
        "\n\nWithout --data-dir the demo lives in its own store (DATA_DIR/demo), apart from "
        "your real one. A store that already has messages is opened as it is."
    )
)
@_option("--customers", type=click.IntRange(1), default=2_000, show_default=True)
@_option("--messages", type=click.IntRange(0), default=30_000, show_default=True)
@_option("--seed", type=int, default=1, show_default=True)
@_option("--no-tui", is_flag=True, help=N_("Fill the store and exit."))
@click.pass_obj
def demo(opts: _Options, customers: int, messages: int, seed: int, no_tui: bool) -> None:
    settings = opts.settings(default_data_dir=_default_data_dir() / DEMO_DIR)
    config = settings.config.model_copy(
        update={"demo": settings.config.demo.model_copy(update={"enabled": True})}
    )
    settings = settings.with_config(config)
    from omnitui.reads import Reader, display_url, is_postgresql

    if is_postgresql(settings.store_url):
        said = _(
            "{store}: the demo fills a SQLite store; fill one (omnitui demo --no-tui) and "
            "copy it with omnitui db copy"
        )
        _fail(said.format(store=display_url(settings.store_url)))
    _prepare_store(settings, create=True)

    if Reader(settings.store_url).message_count() == 0 and messages:
        _fill(settings, customers, messages, seed)
    elif no_tui:
        click.echo(_("the store already has messages; not filling it again"))
    if not no_tui:
        _setup_logging(settings)
        _run_tui(settings)


def _fill(settings: Settings, customers: int, messages: int, seed: int) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from omnitui.bulk import fill_demo

    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(_("filling the demo store"), total=messages)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        fill_demo(
            settings.store_url, customers=customers, messages=messages, seed=seed, progress=progress
        )
    took = time.perf_counter() - started
    said = _("{messages} messages from {customers} customers in {seconds} s ({rate} messages/s)")
    click.echo(
        said.format(
            messages=f"{messages:,}",
            customers=f"{customers:,}",
            seconds=f"{took:.1f}",
            rate=f"{messages / max(took, 1e-9):,.0f}",
        )
    )


@main.command(help=N_("Run the connectors, the outbox and the HTTP endpoint, without a TUI."))
@click.pass_obj
def serve(opts: _Options) -> None:
    import asyncio
    import signal

    settings = opts.settings()
    _prepare_store(settings, create=True)
    _setup_logging(settings, stderr=True)
    from omnitui.runner import Runner

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Runner(settings).run(stop)

    asyncio.run(run())


# No -h here: "-channel:email" would read as -c -h... and show the help. Unknown
# "-options" are query terms (negations).
@main.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]},
    help=N_(
        'Find messages (and customers by name): words, "exact phrases", -negation and '
        "fields from: to: channel: tag: is: assignee: before: after: has: customer:.\n\n"
        "\b\n"
        "omnitui search refund is:open channel:telegram\n"
        "omnitui search 'from:\"Leyla M\" after:7d -is:resolved'\n"
        "omnitui search -kargo tag:vip assignee:none\n"
        "omnitui search -- --json   (after --, words that look like this command's options)"
    ),
)
@click.argument("query", nargs=-1, required=True)
@_option("--json", "as_json", is_flag=True, help=N_("One JSON object a line."))
@_option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def search(opts: _Options, query: tuple[str, ...], as_json: bool, limit: int) -> None:
    import json

    from omnitui.query import Context, QueryError, caret, parse
    from omnitui.reads import Reader

    text = " ".join(query)
    try:
        parsed = parse(text)
    except QueryError as exc:
        click.echo(f"omnitui: {exc}\n{caret(text, exc)}", err=True)
        sys.exit(EXIT_CONFIG)
    settings = opts.settings()
    _require_store(settings)
    context = Context(agent=settings.agent, tz=settings.timezone)
    hits = Reader(settings.store_url).search_query(parsed, limit, context=context)
    if as_json:
        for hit in hits:
            click.echo(
                json.dumps(
                    {
                        "customer_id": hit.customer_id,
                        "name": hit.name,
                        "message_id": hit.message_id,
                        "excerpt": hit.excerpt,
                        "at": hit.at.isoformat().replace("+00:00", "Z") if hit.at else None,
                        "conversation_id": hit.conversation_id,
                        "status": hit.status or None,
                        "channel": hit.channel or None,
                        "direction": hit.direction or None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnitui.text import one_line

    table = Table(
        _("customer"),
        _("name"),
        _("message"),
        _("conversation"),
        _("when (UTC)"),
        _("excerpt"),
        box=None,
    )
    for hit in hits:
        table.add_row(
            str(hit.customer_id),
            Text(one_line(hit.name, 40)),
            str(hit.message_id or ""),
            f"{hit.conversation_id} {hit.status}" if hit.conversation_id else "",
            hit.at.strftime("%Y-%m-%d %H:%M") if hit.at else "",
            Text(one_line(hit.excerpt, 200)),
        )
    Console().print(table)
    click.echo(
        ngettext("{count} result", "{count} results", len(hits)).format(count=len(hits)), err=True
    )


def _require_store(settings: Settings) -> None:
    from omnitui.reads import SCHEMA_HEAD, SchemaError

    revision = _schema_revision(settings)
    if revision != SCHEMA_HEAD:
        _fail(str(SchemaError.for_revision(settings.store_url, revision)))


@main.command(
    help=N_(
        "Write every customer, identity, conversation, message and knowledge base entry as "
        "JSON Lines (format: docs/export-format.md)."
    )
)
@_option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help=N_("[default: stdout]")
)
@click.pass_obj
def export(opts: _Options, output: Path | None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from omnitui.bulk import export_jsonl

    settings = opts.settings()
    _require_store(settings)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(_("exporting"), total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if output is None:
            count = export_jsonl(settings.store_url, sys.stdout, progress=progress)
        else:
            with output.open("w", encoding="utf-8") as out:
                count = export_jsonl(settings.store_url, out, progress=progress)
    click.echo(_("exported {count} records").format(count=f"{count:,}"), err=True)


@main.command(
    help=N_("Queue a reply to a customer (on the channel they last wrote on), as a script would.")
)
@_option("--customer", "customer_id", type=int, required=True, help=N_("Customer id."))
@_option(
    "--text",
    "body",
    default="",
    help=N_("The reply, or - to read it from stdin (may be left out when files go with it)."),
)
@_option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help=N_("A file to send with the reply (repeat for more; up to 50 MB each)."),
)
@_option("--note", is_flag=True, help=N_("Add an internal note instead of a reply."))
@click.pass_obj
def send(opts: _Options, customer_id: int, body: str, attach: tuple[Path, ...], note: bool) -> None:
    settings = opts.settings()
    _require_store(settings)
    if note and attach:
        _fail(_("a note cannot carry files (--attach is for replies)"))
    if body == "-":
        body = sys.stdin.read()
    from omnitui import db, inbox
    from omnitui.blobs import BlobStore

    engine = db.make_engine(settings.store_url)
    try:
        if note:
            message_id = inbox.add_note(engine, customer_id, body, agent=settings.agent)
        else:
            message_id = inbox.queue_reply(
                engine,
                customer_id,
                body,
                agent=settings.agent,
                attachments=attach,
                blobs=BlobStore(settings.data_dir / "attachments"),
            )
    except inbox.ServiceError as exc:
        _fail(str(exc))
    click.echo(message_id)


@main.command(
    name="log-call",
    help=N_(
        "Log a phone call in a customer's history (a phone system's hook may call this): "
        "prints the call's message id. Logging the same --call-id again stores it once. "
        "Exit 2 on a bad flag, 1 when the store refuses (an unknown customer)."
    ),
)
@_option("--customer", "customer_id", type=int, help=N_("Customer id."))
@_option(
    "--number",
    metavar="PHONE",
    help=N_(
        "The customer's phone number (with its country code): found by their phone "
        "address, or a new customer; with --customer, added to that customer."
    ),
)
@_option(
    "--direction",
    required=True,
    metavar="in|out",
    help=N_("in: the customer called; out: the agent called."),
)
@_option(
    "--duration",
    default="0",
    show_default=True,
    metavar="TIME",
    help=N_("How long: seconds (330), 5m30s or 4:30."),
)
@_option(
    "--outcome",
    default="answered",
    show_default=True,
    help=N_("answered, missed, voicemail, busy or no-answer."),
)
@_option(
    "--notes", default="", metavar="TEXT", help=N_("What was said, or - to read it from stdin.")
)
@_option(
    "--at",
    "started",
    metavar="ISO-TIME",
    help=N_(
        "When the call started (2026-11-28T09:30:00+04:00; UTC without an offset) [default: now]."
    ),
)
@_option("--call-id", metavar="ID", help=N_("The phone system's id of the call."))
@_option("--json", "as_json", is_flag=True, help=N_("Print a JSON object instead of the id."))
@click.pass_obj
def log_call(
    opts: _Options,
    customer_id: int | None,
    number: str | None,
    direction: str,
    duration: str,
    outcome: str,
    notes: str,
    started: str | None,
    call_id: str | None,
    as_json: bool,
) -> None:
    from omnitui import calls

    try:
        direction = calls.check_direction(direction)
        outcome = calls.check_outcome(outcome)
        seconds = calls.parse_duration(duration)
        if number is not None:
            calls.normalize_number(number)
    except calls.CallError as exc:
        _fail(str(exc), EXIT_CONFIG)
    if customer_id is None and number is None:
        _fail(_("say which customer: --customer ID or --number PHONE"), EXIT_CONFIG)
    at = _call_time(started) if started is not None else None
    settings = opts.settings()
    _require_store(settings)
    if notes == "-":
        notes = sys.stdin.read()
    from omnitui import db, inbox

    engine = db.make_engine(settings.store_url)
    try:
        message_id = inbox.log_call(
            engine,
            customer_id,
            direction=direction,
            duration_seconds=seconds,
            outcome=outcome,
            notes=notes,
            agent=settings.agent,
            at=at,
            number=number,
            external_id=call_id,
        )
    except inbox.ServiceError as exc:
        _fail(str(exc))
    if as_json:
        import json

        with db.read(engine) as session:
            stored = session.get(db.Message, message_id)
            assert stored is not None
            row = {"message_id": message_id, "customer_id": stored.customer_id}
            row["conversation_id"] = stored.conversation_id
        click.echo(json.dumps(row))
    else:
        click.echo(message_id)


def _call_time(value: str) -> datetime:
    """--at: an ISO 8601 time; without an offset, UTC. Exit 2 with one line otherwise."""
    from datetime import UTC, datetime

    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        problem = _("--at: {value!r} is not an ISO time (2026-11-28T09:30:00+04:00)")
        _fail(problem.format(value=value), EXIT_CONFIG)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@main.command(
    help=N_(
        "Service insights for a period (definitions: README, Reports): conversations, "
        "response and resolution times, first-contact resolution, backlog, volume, "
        "satisfaction, SLA breaches, per agent, the FAQ bot, phone calls. Days are the "
        "agent's ([agent] timezone). Exit 2 on a bad flag."
    )
)
@_option(
    "--from", "first", metavar="YYYY-MM-DD", help=N_("First day [default: 6 days before --to].")
)
@_option("--to", "last", metavar="YYYY-MM-DD", help=N_("Last day, included [default: today]."))
@_option(
    "--channel", "channels", multiple=True, help=N_("Only conversations begun on it (repeat).")
)
@_option("--tag", "tags", multiple=True, help=N_("Only conversations with this tag (repeat)."))
@_option("--agent", "agents", multiple=True, help=N_("Only conversations assigned to (repeat)."))
@_option("--business-hours", is_flag=True, help=N_("Count durations in [business_hours] only."))
@_option("--json", "as_json", is_flag=True, help=N_("One JSON object (keys: README, Reports)."))
@_option("--csv", "as_csv", is_flag=True, help=N_("CSV rows: section,key,value[,value...]."))
@click.pass_obj
def report(
    opts: _Options,
    first: str | None,
    last: str | None,
    channels: tuple[str, ...],
    tags: tuple[str, ...],
    agents: tuple[str, ...],
    business_hours: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    from datetime import UTC, datetime

    from omnitui import reports

    if as_json and as_csv:
        _fail(_("--json or --csv, not both"), EXIT_CONFIG)
    settings = opts.settings()
    zone, now = settings.timezone, datetime.now(UTC)
    hours = None
    if business_hours:
        from omnitui.hours import from_config

        hours = from_config(settings.config)
        if hours is None:
            _fail(_("--business-hours needs a [business_hours] table in the config"), EXIT_CONFIG)
    try:
        start, end = reports.period(_report_day(first), _report_day(last), zone=zone, now=now)
    except reports.ReportError as exc:
        _fail(str(exc), EXIT_CONFIG)
    _require_store(settings)
    flt = reports.ReportFilter(start, end, channels, tags, agents, business_hours)
    found = reports.compute(settings.store_url, flt, zone=zone, now=now, hours=hours)
    if as_json:
        import json

        click.echo(json.dumps(reports.as_json(found), ensure_ascii=False, indent=2))
    elif as_csv:
        import csv

        csv.writer(sys.stdout, lineterminator="\n").writerows(reports.csv_rows(found))
    else:
        _print_report(found)


def _report_day(value: str | None) -> date | None:
    """--from / --to: a YYYY-MM-DD day, or exit 2 with one line."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(_("{value!r} is not a day (YYYY-MM-DD)").format(value=value), EXIT_CONFIG)


def _print_report(found: reports.Report) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnitui import reports

    first, last = reports.local_days(found)
    console = Console()
    console.print(f"{first.isoformat()} .. {last.isoformat()} ({found.zone})", markup=False)
    for section in reports.sections(found):
        table = Table(*section.columns, title=section.title, box=None, title_justify="left")
        for row in section.rows:  # Text: a name with [brackets] is not markup
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)


@main.command(
    help=N_("Check the config, the store, its schema, the runner lease and the connectors.")
)
@click.pass_obj
def doctor(opts: _Options) -> None:
    from omnitui.doctor import run_checks

    problems = 0
    config_ok = True
    ok, fail = _("OK"), _("FAIL")
    width = max(len(ok), len(fail))
    for check in run_checks(opts.config_path(), opts.load_settings):
        if check.ok:
            mark = click.style(ok.ljust(width), fg="green")
        else:
            mark = click.style(fail.ljust(width), fg="red")
        click.echo(f"{mark} {check.name}: {check.detail}")
        problems += not check.ok
        config_ok = config_ok and (check.ok or not check.of_config)
    sys.exit(EXIT_CONFIG if not config_ok else 1 if problems else 0)


@main.group(name="db", help=N_("Store maintenance."))
def db_group() -> None:
    pass


@db_group.command(help=N_("Create the store or bring its schema up to this version of omnitui."))
@click.pass_obj
def upgrade(opts: _Options) -> None:
    from omnitui import db
    from omnitui.reads import KNOWN_REVISIONS, SCHEMA_HEAD

    settings = opts.settings()
    before = _schema_revision(settings)
    if before is not None and before not in KNOWN_REVISIONS:
        said = _("store schema revision {revision} is newer than this omnitui knows ({head})")
        _fail(said.format(revision=before, head=SCHEMA_HEAD))
    db.upgrade(settings.store_url)
    if before is None:
        click.echo(_("store schema: empty -> {head}").format(head=SCHEMA_HEAD))
    else:
        said = _("store schema: {revision} -> {head}")
        click.echo(said.format(revision=before, head=SCHEMA_HEAD))


@db_group.command(
    name="copy",
    help=N_(
        "Copy a whole store between SQLite and PostgreSQL, in either direction, then verify "
        "row counts and a checksum per table. The source is only read; the destination must "
        "be new (an interrupted copy into it resumes). Stop the runner on the source first."
    ),
)
@click.option("--from", "source", required=True, metavar="URL", help=N_("The store to copy."))
@click.option("--to", "target", required=True, metavar="URL", help=N_("The new store."))
def copy(source: str, target: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from omnitui.dbcopy import CopyError, copy_store
    from omnitui.reads import StoreUnreachable, StoreURLError, display_url

    def path_url(value: str) -> str:
        return value if "://" in value else f"sqlite:///{Path(value).resolve()}"

    source, target = path_url(source), path_url(target)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done, total=total)

        try:
            report = copy_store(source, target, progress)
        except StoreURLError as exc:
            _fail(str(exc), EXIT_CONFIG)
        except (CopyError, StoreUnreachable) as exc:
            _fail(str(exc))
    for check in report.tables:
        if not check.ok:
            said = _(
                "{table}: {source_rows} rows in the source, {copied_rows} copied; checksums "
                "{source_sum} and {copied_sum}"
            )
            click.echo(
                said.format(
                    table=check.table,
                    source_rows=check.source_rows,
                    copied_rows=check.copied_rows,
                    source_sum=check.source_sha256[:12],
                    copied_sum=check.copied_sha256[:12],
                ),
                err=True,
            )
    if not report.ok:
        _fail(_("the copy does not match its source (above); the source is unchanged"))
    said = ngettext(
        "copied and verified {rows} row in {tables} tables: {source} -> {target}",
        "copied and verified {rows} rows in {tables} tables: {source} -> {target}",
        report.rows,
    )
    click.echo(
        said.format(
            rows=report.rows,
            tables=len(report.tables),
            source=display_url(source),
            target=display_url(target),
        )
    )


# ---------------------------------------------------------------------------
# import: mail history from files (omnitui/mailimport.py)


@main.group(
    name="import",
    help=N_(
        "Import mail history from files: Maildir folders, mbox files, .eml files.\n\n"
        "Each mail is stored once (a second run over the same files imports nothing), "
        "threaded into its customer's conversations in Date order; mail from our own "
        "addresses is stored as the team's reply to the customer it went to. Mail that "
        "cannot be read as mail is quarantined (`omnitui doctor` lists it). Exits 1 when "
        "some files could not be read (they are named), after importing the rest."
    ),
)
def import_group() -> None:
    pass


_IMPORTED_ACCOUNT = "imported"
"""The store account of imported mail when the config has no email account."""


def _import_options(command: Callable[..., None]) -> Callable[..., None]:
    options = [
        _option(
            "--account",
            metavar="NAME",
            # 'imported' is _IMPORTED_ACCOUNT, the account's name (never translated).
            help=N_(
                "The store account the mail belongs to [default: the config's only email "
                "account; 'imported' when it has none]."
            ),
        ),
        _option(
            "--ours",
            metavar="ADDRESS",
            multiple=True,
            help=N_(
                "An address of the team (repeatable): its mail is stored as outgoing "
                "[default: the account's address and aliases in the config]."
            ),
        ),
        _option(
            "--resolve-after",
            metavar="DAYS",
            type=click.FloatRange(0, min_open=True),
            default=7.0,
            show_default=True,
            help=N_(
                "A conversation stays open this long after its last message: later mail "
                "from the customer opens a new one, and older ones are imported resolved."
            ),
        ),
        _option(
            "--workers",
            type=click.IntRange(1, 256),
            help=N_("Processes that read and parse mail [default: one a CPU]."),
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@import_group.command(
    name="maildir",
    help=N_(
        "Import the mail in cur/ and new/ of each maildir and of every folder below it "
        "(Maildir++ .Folders and nested maildirs)."
    ),
)
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@_import_options
@click.pass_obj
def import_maildir(
    opts: _Options,
    paths: tuple[Path, ...],
    account: str | None,
    ours: tuple[str, ...],
    resolve_after: float,
    workers: int | None,
) -> None:
    _import_mail(opts, "maildir", paths, account, ours, resolve_after, workers)


@import_group.command(name="mbox", help=N_("Import every message of each mbox file."))
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@_import_options
@click.pass_obj
def import_mbox(
    opts: _Options,
    paths: tuple[Path, ...],
    account: str | None,
    ours: tuple[str, ...],
    resolve_after: float,
    workers: int | None,
) -> None:
    _import_mail(opts, "mbox", paths, account, ours, resolve_after, workers)


@import_group.command(
    name="eml",
    help=N_("Import .eml files: each file given, and the .eml files in each directory given."),
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_import_options
@click.pass_obj
def import_eml(
    opts: _Options,
    paths: tuple[Path, ...],
    account: str | None,
    ours: tuple[str, ...],
    resolve_after: float,
    workers: int | None,
) -> None:
    _import_mail(opts, "eml", paths, account, ours, resolve_after, workers)


def _import_mail(
    opts: _Options,
    kind: str,
    paths: tuple[Path, ...],
    account: str | None,
    ours: tuple[str, ...],
    resolve_after: float,
    workers: int | None,
) -> None:
    import sqlite3
    import time
    from datetime import timedelta

    from omnitui import mailimport

    started = time.perf_counter()
    settings = opts.settings()
    accounts = settings.config.email
    if account is None:
        if len(accounts) > 1:
            said = _("the config has several email accounts ({accounts}): pass --account NAME")
            _fail(said.format(accounts=", ".join(sorted(accounts))))
        account = next(iter(accounts), _IMPORTED_ACCOUNT)
    configured = accounts.get(account)
    if ours:
        addresses = [a.strip().lower() for a in ours]
    else:
        addresses = sorted(configured.ours) if configured else []
    if not addresses:
        said = _(
            "no address of the team given (--ours ADDRESS or an [email.NAME] account): "
            "every message is taken as written by a customer"
        )
        click.echo(f"omnitui: {said}", err=True)
    try:
        source = {
            "maildir": mailimport.maildir_source,
            "mbox": mailimport.mbox_source,
            "eml": mailimport.eml_source,
        }[kind](paths)
    except mailimport.SourceError as exc:
        _fail(str(exc))
    job = mailimport.MailImport(
        source,
        account=account,
        attachments=settings.data_dir / "attachments",
        ours=addresses,
        resolve_after=timedelta(days=resolve_after),
        workers=workers,
        max_attachment_bytes=int(configured.max_attachment_mb * 1024 * 1024)
        if configured
        else None,
    )
    _prepare_store_apart(settings)
    try:
        # The workers start before this process opens the store.
        with job, _ImportProgress() as progress:
            result = job.run(settings.store_url, progress)
    except KeyboardInterrupt:
        _fail(_("interrupted; what was imported stays, and a new run goes on from there"), 130)
    except Exception as exc:
        from omnitui.db import is_disconnect

        if not (isinstance(exc, sqlite3.OperationalError) or is_disconnect(exc)):
            raise
        said = _("the store: {error}; what was imported stays, run the import again")
        _fail(said.format(error=str(exc).strip().splitlines()[0]))
    click.echo(_import_summary(result, time.perf_counter() - started))
    if result.unreadable:
        for path, why in result.unreadable[:50]:
            click.echo(_("cannot read {path}: {why}").format(path=path, why=why), err=True)
        more = len(result.unreadable) - 50
        if more > 0:
            click.echo(_("... and {count} more").format(count=f"{more:,}"), err=True)
        sys.exit(1)


def _import_summary(result: ImportResult, took: float) -> str:
    """The import's one line: what was imported, what was there already, what was not."""
    unread = len(result.unreadable)
    values = {
        "imported": f"{result.imported:,}",
        "customers": f"{result.customers:,}",
        "conversations": f"{result.conversations:,}",
        "already": f"{result.already:,}",
        "quarantined": f"{result.quarantined:,}",
        "unreadable": f"{unread:,}",
        "seconds": f"{took:.1f}",
        "rate": f"{result.imported / max(took, 1e-9):,.0f}",
    }
    if not (result.imported or result.quarantined):
        if result.already and unread:
            said = ngettext(
                "nothing new: {already} messages were already stored, "
                "{unreadable} file unreadable (below)",
                "nothing new: {already} messages were already stored, "
                "{unreadable} files unreadable (below)",
                unread,
            )
        elif result.already:
            said = _("nothing new: {already} messages were already stored")
        elif unread:
            said = ngettext(
                "nothing imported: no mail found, {unreadable} file unreadable (below)",
                "nothing imported: no mail found, {unreadable} files unreadable (below)",
                unread,
            )
        else:
            said = _("nothing imported: no mail found")
    elif result.quarantined and unread:
        said = ngettext(
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined (omnitui "
            "doctor lists them), {unreadable} file unreadable (below) in {seconds} s "
            "({rate} msg/s)",
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined (omnitui "
            "doctor lists them), {unreadable} files unreadable (below) in {seconds} s "
            "({rate} msg/s)",
            unread,
        )
    elif result.quarantined:
        said = _(
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined (omnitui "
            "doctor lists them) in {seconds} s ({rate} msg/s)"
        )
    elif unread:
        said = ngettext(
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined, "
            "{unreadable} file unreadable (below) in {seconds} s ({rate} msg/s)",
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined, "
            "{unreadable} files unreadable (below) in {seconds} s ({rate} msg/s)",
            unread,
        )
    else:
        said = _(
            "imported {imported} messages ({customers} customers, {conversations} "
            "conversations), {already} already stored, {quarantined} quarantined in "
            "{seconds} s ({rate} msg/s)"
        )
    return said.format(**values)


def _prepare_store_apart(settings: Settings) -> None:
    """``_prepare_store`` in a child process: a new store's migrations load SQLAlchemy and
    Alembic (~50 MB) that the import never needs again, and the import's own process opens
    no connection before it forks its workers."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        _prepare_store(settings, create=True)
        return
    child = multiprocessing.get_context("fork").Process(
        target=_prepare_store, args=(settings,), kwargs={"create": True}
    )
    child.start()
    child.join()
    if child.exitcode:
        sys.exit(child.exitcode)


class _ImportProgress:
    """A progress bar on stderr while importing, when stderr is a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, tuple[float, int]] = {}

    def __enter__(self) -> _ImportProgress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        import time

        if self._bar is None:
            return
        now = time.perf_counter()
        if phase not in self._tasks:
            label = {"scanning": _("reading dates"), "importing": _("importing")}.get(phase, phase)
            self._tasks[phase] = self._bar.add_task(label, total=total, rate="")
            self._started[phase] = (now, done)
        since, first = self._started[phase]
        rate = (done - first) / (now - since) if now > since else 0.0
        speed = _("{rate} msg/s").format(rate=f"{rate:,.0f}")
        self._bar.update(self._tasks[phase], completed=done, total=total, rate=speed)


# ---------------------------------------------------------------------------
# canned: the canned reply library, from and to a folder of files (omnitui/canned.py)


@main.group(
    name="canned",
    help=N_(
        "Canned replies (:: in the composer inserts one): import them from a folder of "
        "TOML and Markdown files, list them, export them as Markdown files. The file formats "
        'and the {variables} are in the README ("Canned replies").'
    ),
)
def canned_group() -> None:
    pass


@canned_group.command(
    name="import",
    help=N_(
        "Add or update the replies of FOLDER's *.toml and *.md files (and its subfolders'), "
        "matched by shortcut, in one transaction; replies not in the files are kept. A bad "
        "file stops the import before anything is written: exit 2, one FILE:LINE: line for "
        "each problem. Importing the same files again changes nothing."
    ),
)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def canned_import(opts: _Options, folder: Path) -> None:
    from omnitui.canned import read_folder

    settings = opts.settings()
    _prepare_store(settings, create=True)
    with _FilesProgress() as progress:
        replies = _read_folder(read_folder, folder, progress)
    if not replies:
        click.echo(_("no canned replies in {folder} (*.toml, *.md files)").format(folder=folder))
        return
    from omnitui import db, inbox

    try:
        done = inbox.import_canned(
            db.make_engine(settings.store_url), replies, agent=settings.agent
        )
    except inbox.ServiceError as exc:
        _fail(str(exc), EXIT_CONFIG)
    files = progress.total
    if files == 1:
        said = ngettext(
            "{replies} canned reply from {files} file: "
            "{added} added, {updated} updated, {unchanged} unchanged",
            "{replies} canned replies from {files} file: "
            "{added} added, {updated} updated, {unchanged} unchanged",
            len(replies),
        )
    else:
        said = ngettext(
            "{replies} canned reply from {files} files: "
            "{added} added, {updated} updated, {unchanged} unchanged",
            "{replies} canned replies from {files} files: "
            "{added} added, {updated} updated, {unchanged} unchanged",
            len(replies),
        )
    _echo_imported(said, "replies", len(replies), files, done)


@canned_group.command(
    name="list", help=N_("Every canned reply: shortcut, title, languages, tags, last change.")
)
@_option("--json", "as_json", is_flag=True, help=N_("One JSON object a line."))
@click.pass_obj
def canned_list(opts: _Options, as_json: bool) -> None:
    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    rows = Reader(settings.store_url).canned_replies()
    if as_json:
        for row in rows:
            _echo_library_json(row, {"shortcut": row.shortcut, "title": row.title})
        return
    _print_library(
        (_("shortcut"), _("title")),
        [(f"::{row.shortcut}", row.title, row) for row in rows],
    )
    said = ngettext("{count} canned reply", "{count} canned replies", len(rows))
    click.echo(said.format(count=len(rows)), err=True)


@canned_group.command(
    name="export",
    help=N_(
        "Write every canned reply into FOLDER (made if need be) as Markdown files that "
        "`omnitui canned import` reads back: SHORTCUT.md (front matter and the English body, "
        "or the first there is) and SHORTCUT.LANG.md for each other language. Files of those "
        "names are overwritten; no other file is touched."
    ),
)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def canned_export(opts: _Options, folder: Path) -> None:
    from omnitui.canned import CannedReply, to_markdown
    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    reader = Reader(settings.store_url)

    def files_of(row: CannedRow) -> dict[str, str] | None:
        detail = reader.canned(row.id)
        if detail is None:  # deleted meanwhile
            return None
        return to_markdown(CannedReply(row.title, row.shortcut, row.tags, detail.variants))

    replies, files = _write_files(folder, map(files_of, reader.canned_replies()))
    said = _("exported {replies} canned replies ({files} files) to {folder}")
    click.echo(said.format(replies=f"{replies:,}", files=f"{files:,}", folder=folder))


# ---------------------------------------------------------------------------
# kb: the FAQ bot's knowledge base, from and to a folder of Markdown files (omnitui/kb.py)


@main.group(
    name="kb",
    help=N_(
        "The knowledge base the FAQ bot answers from ([bot] in the config): import it from a "
        "folder of Markdown files (SLUG.md, SLUG.az.md, ...: question: in the front matter, "
        "the answer below), list it, export it. K in the TUI edits it."
    ),
)
def kb_group() -> None:
    pass


@kb_group.command(
    name="import",
    help=N_(
        "Add or update the entries of FOLDER's *.md files (and its subfolders'), matched by "
        "slug, in one transaction; entries not in the files are kept. A bad file stops the "
        "import before anything is written: exit 2, one FILE:LINE: line for each problem. "
        "Importing the same files again changes nothing."
    ),
)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def kb_import(opts: _Options, folder: Path) -> None:
    from omnitui.kb import read_folder

    settings = opts.settings()
    _prepare_store(settings, create=True)
    with _FilesProgress() as progress:
        entries = _read_folder(read_folder, folder, progress)
    if not entries:
        click.echo(_("no knowledge base entries in {folder} (*.md files)").format(folder=folder))
        return
    from omnitui import bot, db, inbox

    try:
        done = bot.import_kb(db.make_engine(settings.store_url), entries, agent=settings.agent)
    except inbox.ServiceError as exc:
        _fail(str(exc), EXIT_CONFIG)
    said = ngettext(
        "{entries} entry from {files} files: {added} added, {updated} updated, "
        "{unchanged} unchanged",
        "{entries} entries from {files} files: {added} added, {updated} updated, "
        "{unchanged} unchanged",
        len(entries),
    )
    _echo_imported(said, "entries", len(entries), progress.total, done)


@kb_group.command(
    name="list",
    help=N_("Every knowledge base entry: slug, question, languages, tags, last change."),
)
@_option("--json", "as_json", is_flag=True, help=N_("One JSON object a line."))
@click.pass_obj
def kb_list(opts: _Options, as_json: bool) -> None:
    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    rows = Reader(settings.store_url).kb_entries()
    if as_json:
        for row in rows:
            _echo_library_json(row, {"slug": row.slug, "question": row.question})
        return
    _print_library((_("slug"), _("question")), [(row.slug, row.question, row) for row in rows])
    said = ngettext("{count} entry", "{count} entries", len(rows))
    click.echo(said.format(count=len(rows)), err=True)


@kb_group.command(
    name="export",
    help=N_(
        "Write every knowledge base entry into FOLDER (made if need be) as Markdown files that "
        "`omnitui kb import` reads back: SLUG.md (English, or the first language there is) and "
        "SLUG.LANG.md for each other language. Files of those names are overwritten; no other "
        "file is touched."
    ),
)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def kb_export(opts: _Options, folder: Path) -> None:
    from omnitui.kb import to_markdown
    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    reader = Reader(settings.store_url)

    def files_of(row: KbRow) -> dict[str, str] | None:
        detail = reader.kb_entry(row.id)
        if detail is None or not detail.entry.variants:  # deleted meanwhile
            return None
        return to_markdown(detail.entry)

    entries, files = _write_files(folder, map(files_of, reader.kb_entries()))
    said = _("exported {entries} knowledge base entries ({files} files) to {folder}")
    click.echo(said.format(entries=f"{entries:,}", files=f"{files:,}", folder=folder))


def _read_folder(
    read: Callable[[Path, Callable[[int, int], None]], list[_T]],
    folder: Path,
    progress: _FilesProgress,
) -> list[_T]:
    """``read(folder, progress)`` (canned.read_folder, kb.read_folder); a FolderError (one
    FILE:LINE: line each in ``errors``) ends the command: exit 2, the first 50 lines and
    "nothing imported" on stderr."""
    from omnitui.canned import FolderError

    try:
        return read(folder, progress)
    except FolderError as exc:
        errors = exc.errors
        for line in errors[:50]:
            click.echo(f"omnitui: {line}", err=True)
        if len(errors) > 50:
            more = _("... and {count} more").format(count=f"{len(errors) - 50:,}")
            click.echo(f"omnitui: {more}", err=True)
        nothing = _("nothing imported")
        click.echo(f"omnitui: {nothing}", err=True)
        sys.exit(EXIT_CONFIG)


def _echo_imported(
    said: str, what: str, count: int, files: int, done: CannedImported | KbImported
) -> None:
    """An import's summary: ``said`` with ``{what}`` (replies, entries) the ``count`` read
    from ``files`` files, and how many ``done`` (inbox.CannedImported, bot.KbImported) added,
    updated and left unchanged."""
    counts = {what: count, "files": files}
    counts |= {"added": done.added, "updated": done.updated, "unchanged": done.unchanged}
    click.echo(said.format(**{name: f"{value:,}" for name, value in counts.items()}))


def _echo_library_json(row: CannedRow | KbRow, named: dict[str, str]) -> None:
    """One JSON line for a canned reply or a knowledge base entry: its id, ``named`` (the
    shortcut and title, the slug and question), then what both have."""
    import json

    record: dict[str, object] = {"id": row.id, **named}
    record |= {
        "tags": list(row.tags),
        "languages": list(row.languages),
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
        "updated_by": row.updated_by,
    }
    click.echo(json.dumps(record, ensure_ascii=False))


def _print_library(
    headers: tuple[str, str], rows: list[tuple[str, str, CannedRow | KbRow]]
) -> None:
    """The table of ``canned list`` and ``kb list``: each row's key and name (``headers``
    say which), then its languages, tags and last change."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnitui.text import one_line

    table = Table(box=None)
    table.add_column(headers[0], no_wrap=True)
    table.add_column(headers[1])
    for column in (_("languages"), _("tags"), _("changed (UTC)"), _("by")):
        table.add_column(column, no_wrap=True)
    for key, name, row in rows:
        table.add_row(
            Text(key),
            Text(one_line(name, 60)),
            " ".join(row.languages),
            Text(" ".join(row.tags)),
            row.updated_at.strftime("%Y-%m-%d %H:%M"),
            Text(one_line(row.updated_by, 20)),
        )
    Console().print(table)


def _write_files(folder: Path, each: Iterable[dict[str, str] | None]) -> tuple[int, int]:
    """Write each item's files (name: text; None for one deleted meanwhile) into
    ``folder``, made if need be; how many items and files were written."""
    folder.mkdir(parents=True, exist_ok=True)
    items = files = 0
    for named in each:
        if named is None:
            continue
        for name, text in named.items():
            (folder / name).write_text(text, "utf-8")
            files += 1
        items += 1
    return items, files


class _FilesProgress:
    """A bar on stderr while many files are read, when stderr is a terminal; ``total``
    is how many files there were."""

    SHOWN_FROM = 100
    """Files below which no bar is shown (they are read in the blink of an eye)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self.total = 0

    def __enter__(self) -> _FilesProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        self.total = total
        if self._bar is None and total >= self.SHOWN_FROM and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
            self._task = self._bar.add_task(_("reading files"), total=total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
