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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from omnitui import __version__

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from omnitui.config import Settings
    from omnitui.reads import CustomerPage

EXIT_CONFIG = 2
DEMO_DIR = "demo"
READ_AHEAD_ROWS = 200
"""Customers read while Textual loads: one block of the customer list (its BLOCK)."""


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


@dataclass(frozen=True, slots=True)
class _Options:
    """The global flags, turned into Settings on first use (so --help never loads pydantic)."""

    data_dir: Path | None
    config: Path | None
    agent: str | None
    no_runner: bool
    log_file: Path | None

    def settings(
        self, *, default_data_dir: Path | None = None, first_paint: bool = False
    ) -> Settings:
        """Settings, or exit 2 with the config error's one line.

        ``first_paint`` (the TUI): a config file validated before, byte for byte, is not
        validated again before the first paint; every other verb validates it now.
        """
        from omnitui.config import ConfigError

        try:
            return self.load_settings(default_data_dir=default_data_dir, first_paint=first_paint)
        except ConfigError as exc:
            _fail(str(exc), EXIT_CONFIG)

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
        else:
            url = config.store.url if config else ""
            name = config.agent.name if config else ""
        data_dir = self.data_dir or default_data_dir or _default_data_dir()
        return Settings(
            data_dir=data_dir,
            config_path=config_path,
            config=config,
            store_url=url or f"sqlite:///{data_dir / 'omnitui.db'}",
            agent=self.agent or name or getpass.getuser(),
            run_runner=not self.no_runner,
            log_file=self.log_file or data_dir / "omnitui.log",
        )


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OMNITUI_DATA_DIR",
    help="Where the store, attachments and logs live [default: the XDG data dir].",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file [default: the XDG config dir's omnitui/config.toml].",
)
@click.option("--agent", metavar="NAME", help="Who you are [default: the login name].")
@click.option(
    "--no-runner", is_flag=True, help="Never run the connectors and outbox in this process."
)
@click.option(
    "--log-file", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the log."
)
@click.version_option(__version__, prog_name="omnitui")
@click.pass_context
def main(
    ctx: click.Context,
    data_dir: Path | None,
    config: Path | None,
    agent: str | None,
    no_runner: bool,
    log_file: Path | None,
) -> None:
    """A terminal inbox for a support team: email, Telegram and web chat, one history per
    customer. Without a command, opens the inbox."""
    ctx.obj = _Options(data_dir, config, agent, no_runner, log_file)
    if ctx.invoked_subcommand is None:
        _pause_gc()
        _open_tui(ctx.obj.settings(first_paint=True))


def _prepare_store(settings: Settings, *, create: bool) -> None:
    """Check the schema without the ORM; create a new store at head when asked."""
    from omnitui.reads import SCHEMA_HEAD, SchemaError, schema_revision

    try:
        revision = schema_revision(settings.store_url)
    except SchemaError as exc:
        _fail(str(exc))
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


@main.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_obj
def init(opts: _Options, force: bool) -> None:
    """Write a starter config file (every key documented) and create the store."""
    from importlib.resources import files

    path = opts.config_path()
    if path.exists() and not force:
        _fail(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(files("omnitui").joinpath("config.example.toml").read_text("utf-8"), "utf-8")
    click.echo(f"wrote {path}")
    settings = opts.settings()
    _prepare_store(settings, create=True)
    click.echo(f"store ready at {settings.store_url.removeprefix('sqlite:///')}")


@main.command()
@click.option("--customers", type=click.IntRange(1), default=2_000, show_default=True)
@click.option("--messages", type=click.IntRange(0), default=30_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--no-tui", is_flag=True, help="Fill the store and exit.")
@click.pass_obj
def demo(opts: _Options, customers: int, messages: int, seed: int, no_tui: bool) -> None:
    """Fill a demo store with a synthetic history, then open it with the demo channel live.

    Without --data-dir the demo lives in its own store (DATA_DIR/demo), apart
    from your real one. A store that already has messages is opened as it is.
    """
    settings = opts.settings(default_data_dir=_default_data_dir() / DEMO_DIR)
    config = settings.config.model_copy(
        update={"demo": settings.config.demo.model_copy(update={"enabled": True})}
    )
    settings = settings.with_config(config)
    _prepare_store(settings, create=True)
    from omnitui.reads import Reader

    if Reader(settings.store_url).message_count() == 0 and messages:
        _fill(settings, customers, messages, seed)
    elif no_tui:
        click.echo("the store already has messages; not filling it again")
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
        task = bar.add_task("filling the demo store", total=messages)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        fill_demo(
            settings.store_url, customers=customers, messages=messages, seed=seed, progress=progress
        )
    took = time.perf_counter() - started
    click.echo(
        f"{messages:,} messages from {customers:,} customers in {took:.1f} s "
        f"({messages / max(took, 1e-9):,.0f} messages/s)"
    )


@main.command()
@click.pass_obj
def serve(opts: _Options) -> None:
    """Run the connectors, the outbox and the HTTP endpoint, without a TUI."""
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
@main.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def search(opts: _Options, query: tuple[str, ...], as_json: bool, limit: int) -> None:
    """Find messages (and customers by name): words, "exact phrases", -negation and
    fields from: to: channel: tag: is: assignee: before: after: has: customer:.

    \b
    omnitui search refund is:open channel:telegram
    omnitui search 'from:"Leyla M" after:7d -is:resolved'
    omnitui search -kargo tag:vip assignee:none
    omnitui search -- --json   (after --, words that look like this command's options)
    """
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

    table = Table("customer", "name", "message", "conversation", "when (UTC)", "excerpt", box=None)
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
    click.echo(f"{len(hits)} result{'s' * (len(hits) != 1)}", err=True)


def _require_store(settings: Settings) -> None:
    from omnitui.reads import SCHEMA_HEAD, SchemaError, schema_revision

    try:
        revision = schema_revision(settings.store_url)
    except SchemaError as exc:
        _fail(str(exc))
    if revision != SCHEMA_HEAD:
        _fail(str(SchemaError.for_revision(settings.store_url, revision)))


@main.command()
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="[default: stdout]"
)
@click.pass_obj
def export(opts: _Options, output: Path | None) -> None:
    """Write every customer, identity, conversation and message as JSON Lines
    (format: docs/export-format.md)."""
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
        task = bar.add_task("exporting", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if output is None:
            count = export_jsonl(settings.store_url, sys.stdout, progress=progress)
        else:
            with output.open("w", encoding="utf-8") as out:
                count = export_jsonl(settings.store_url, out, progress=progress)
    click.echo(f"exported {count:,} records", err=True)


@main.command()
@click.option("--customer", "customer_id", type=int, required=True, help="Customer id.")
@click.option(
    "--text",
    "body",
    default="",
    help="The reply, or - to read it from stdin (may be left out when files go with it).",
)
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A file to send with the reply (repeat for more; up to 50 MB each).",
)
@click.option("--note", is_flag=True, help="Add an internal note instead of a reply.")
@click.pass_obj
def send(opts: _Options, customer_id: int, body: str, attach: tuple[Path, ...], note: bool) -> None:
    """Queue a reply to a customer (on the channel they last wrote on), as a script would."""
    settings = opts.settings()
    _require_store(settings)
    if note and attach:
        _fail("a note cannot carry files (--attach is for replies)")
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


@main.command()
@click.pass_obj
def doctor(opts: _Options) -> None:
    """Check the config, the store, its schema, the runner lease and the connectors."""
    from omnitui.doctor import run_checks

    problems = 0
    config_ok = True
    for check in run_checks(opts.config_path(), opts.load_settings):
        mark = click.style("OK  ", fg="green") if check.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {check.name}: {check.detail}")
        problems += not check.ok
        config_ok = config_ok and (check.ok or check.name != "config")
    sys.exit(EXIT_CONFIG if not config_ok else 1 if problems else 0)


@main.group(name="db")
def db_group() -> None:
    """Store maintenance."""


@db_group.command()
@click.pass_obj
def upgrade(opts: _Options) -> None:
    """Create the store or bring its schema up to this version of omnitui."""
    from omnitui import db
    from omnitui.reads import KNOWN_REVISIONS, SCHEMA_HEAD, schema_revision

    settings = opts.settings()
    before = schema_revision(settings.store_url)
    if before is not None and before not in KNOWN_REVISIONS:
        _fail(f"store schema revision {before} is newer than this omnitui knows ({SCHEMA_HEAD})")
    db.upgrade(settings.store_url)
    click.echo(f"store schema: {before or 'empty'} -> {SCHEMA_HEAD}")


# ---------------------------------------------------------------------------
# import: mail history from files (omnitui/mailimport.py)


@main.group(name="import")
def import_group() -> None:
    """Import mail history from files: Maildir folders, mbox files, .eml files.

    Each mail is stored once (a second run over the same files imports nothing),
    threaded into its customer's conversations in Date order; mail from our own
    addresses is stored as the team's reply to the customer it went to. Mail that
    cannot be read as mail is quarantined (`omnitui doctor` lists it). Exits 1 when
    some files could not be read (they are named), after importing the rest.
    """


_IMPORTED_ACCOUNT = "imported"
"""The store account of imported mail when the config has no email account."""


def _import_options(command: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option(
            "--account",
            metavar="NAME",
            help="The store account the mail belongs to [default: the config's only email "
            f"account; {_IMPORTED_ACCOUNT!r} when it has none].",
        ),
        click.option(
            "--ours",
            metavar="ADDRESS",
            multiple=True,
            help="An address of the team (repeatable): its mail is stored as outgoing "
            "[default: the account's address and aliases in the config].",
        ),
        click.option(
            "--resolve-after",
            metavar="DAYS",
            type=click.FloatRange(0, min_open=True),
            default=7.0,
            show_default=True,
            help="A conversation stays open this long after its last message: later mail "
            "from the customer opens a new one, and older ones are imported resolved.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, 256),
            help="Processes that read and parse mail [default: one a CPU].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@import_group.command(name="maildir")
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
    """Import the mail in cur/ and new/ of each maildir and of every folder below it
    (Maildir++ .Folders and nested maildirs)."""
    _import_mail(opts, "maildir", paths, account, ours, resolve_after, workers)


@import_group.command(name="mbox")
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
    """Import every message of each mbox file."""
    _import_mail(opts, "mbox", paths, account, ours, resolve_after, workers)


@import_group.command(name="eml")
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
    """Import .eml files: each file given, and the .eml files in each directory given."""
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
            _fail(f"the config has several email accounts ({', '.join(sorted(accounts))}): "
                  "pass --account NAME")  # fmt: skip
        account = next(iter(accounts), _IMPORTED_ACCOUNT)
    configured = accounts.get(account)
    if ours:
        addresses = [a.strip().lower() for a in ours]
    else:
        addresses = sorted(configured.ours) if configured else []
    if not addresses:
        click.echo(
            "omnitui: no address of the team given (--ours ADDRESS or an [email.NAME] account): "
            "every message is taken as written by a customer",
            err=True,
        )
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
        _fail("interrupted; what was imported stays, and a new run goes on from there", 130)
    except sqlite3.OperationalError as exc:
        _fail(f"the store: {exc}; what was imported stays, run the import again")
    took = time.perf_counter() - started
    unread = len(result.unreadable)
    missed = f", {unread:,} file{'s' * (unread != 1)} unreadable (below)" if unread else ""
    if result.imported or result.quarantined:
        doctor = " (omnitui doctor lists them)" if result.quarantined else ""
        click.echo(
            f"imported {result.imported:,} messages ({result.customers:,} customers, "
            f"{result.conversations:,} conversations), {result.already:,} already stored, "
            f"{result.quarantined:,} quarantined{doctor}{missed} in {took:.1f} s "
            f"({result.imported / max(took, 1e-9):,.0f} msg/s)"
        )
    elif result.already:
        click.echo(f"nothing new: {result.already:,} messages were already stored{missed}")
    else:
        click.echo(f"nothing imported: no mail found{missed}")
    if result.unreadable:
        for path, why in result.unreadable[:50]:
            click.echo(f"cannot read {path}: {why}", err=True)
        if unread > 50:
            click.echo(f"... and {unread - 50:,} more", err=True)
        sys.exit(1)


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
            label = "reading dates" if phase == "scanning" else phase
            self._tasks[phase] = self._bar.add_task(label, total=total, rate="")
            self._started[phase] = (now, done)
        since, first = self._started[phase]
        rate = (done - first) / (now - since) if now > since else 0.0
        self._bar.update(self._tasks[phase], completed=done, total=total, rate=f"{rate:,.0f} msg/s")


# ---------------------------------------------------------------------------
# canned: the canned reply library, from and to a folder of files (omnitui/canned.py)


@main.group(name="canned")
def canned_group() -> None:
    """Canned replies (:: in the composer inserts one): import them from a folder of
    TOML and Markdown files, list them, export them as Markdown files. The file formats
    and the {variables} are in the README ("Canned replies")."""


@canned_group.command(name="import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def canned_import(opts: _Options, folder: Path) -> None:
    """Add or update the replies of FOLDER's *.toml and *.md files (and its subfolders'),
    matched by shortcut, in one transaction; replies not in the files are kept. A bad
    file stops the import before anything is written: exit 2, one FILE:LINE: line for
    each problem. Importing the same files again changes nothing."""
    from omnitui.canned import FolderError, read_folder

    settings = opts.settings()
    _prepare_store(settings, create=True)
    with _FilesProgress() as progress:
        try:
            replies = read_folder(folder, progress)
        except FolderError as exc:
            for line in exc.errors[:50]:
                click.echo(f"omnitui: {line}", err=True)
            if len(exc.errors) > 50:
                click.echo(f"omnitui: ... and {len(exc.errors) - 50:,} more", err=True)
            click.echo("omnitui: nothing imported", err=True)
            sys.exit(EXIT_CONFIG)
    if not replies:
        click.echo(f"no canned replies in {folder} (*.toml, *.md files)")
        return
    from omnitui import db, inbox

    try:
        done = inbox.import_canned(
            db.make_engine(settings.store_url), replies, agent=settings.agent
        )
    except inbox.ServiceError as exc:
        _fail(str(exc), EXIT_CONFIG)
    files = progress.total
    click.echo(
        f"{len(replies):,} canned repl{'ies' if len(replies) != 1 else 'y'} from {files:,} "
        f"file{'s' * (files != 1)}: {done.added:,} added, {done.updated:,} updated, "
        f"{done.unchanged:,} unchanged"
    )


@canned_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def canned_list(opts: _Options, as_json: bool) -> None:
    """Every canned reply: shortcut, title, languages, tags, last change."""
    import json

    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    rows = Reader(settings.store_url).canned_replies()
    if as_json:
        for row in rows:
            click.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "shortcut": row.shortcut,
                        "title": row.title,
                        "tags": list(row.tags),
                        "languages": list(row.languages),
                        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
                        "updated_by": row.updated_by,
                    },
                    ensure_ascii=False,
                )
            )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from omnitui.text import one_line

    table = Table(box=None)
    for column in ("shortcut", "title", "languages", "tags", "changed (UTC)", "by"):
        table.add_column(column, no_wrap=column != "title")
    for row in rows:
        table.add_row(
            Text(f"::{row.shortcut}"),
            Text(one_line(row.title, 60)),
            " ".join(row.languages),
            Text(" ".join(row.tags)),
            row.updated_at.strftime("%Y-%m-%d %H:%M"),
            Text(one_line(row.updated_by, 20)),
        )
    Console().print(table)
    click.echo(f"{len(rows)} canned repl{'ies' if len(rows) != 1 else 'y'}", err=True)


@canned_group.command(name="export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def canned_export(opts: _Options, folder: Path) -> None:
    """Write every canned reply into FOLDER (made if need be) as Markdown files that
    `omnitui canned import` reads back: SHORTCUT.md (front matter and the English body,
    or the first there is) and SHORTCUT.LANG.md for each other language. Files of those
    names are overwritten; no other file is touched."""
    from omnitui.canned import CannedReply, to_markdown
    from omnitui.reads import Reader

    settings = opts.settings()
    _require_store(settings)
    reader = Reader(settings.store_url)
    folder.mkdir(parents=True, exist_ok=True)
    replies = files = 0
    for row in reader.canned_replies():
        detail = reader.canned(row.id)
        if detail is None:  # deleted meanwhile
            continue
        reply = CannedReply(row.title, row.shortcut, row.tags, detail.variants)
        for name, text in to_markdown(reply).items():
            (folder / name).write_text(text, "utf-8")
            files += 1
        replies += 1
    click.echo(f"exported {replies:,} canned replies ({files:,} files) to {folder}")


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
            self._task = self._bar.add_task("reading files", total=total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
