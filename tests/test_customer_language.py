"""The customer's language on a real store: detected from their newest inbound messages
(not our replies or notes), read again when their history moves, shown in the inbox's
customer header and on the customer screen."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from omnitui import inbox
from omnitui.config import Settings
from omnitui.reads import Reader
from omnitui.screens.customer import CustomerScreen
from tests.tui_support import START, Store, inbound, ingest, make_app, wait_for

SIZE = (160, 40)


def customer(engine: Engine, n: int, address: str, *bodies: str) -> int:
    """A customer who wrote ``bodies`` by email, a minute apart."""
    ids = ingest(
        engine,
        *(
            inbound(n * 100 + i, body, address=address, at=START + timedelta(minutes=n * 100 + i))
            for i, body in enumerate(bodies)
        ),
    )
    return ids[0]


def test_each_customer_gets_the_language_they_write(store_url: str, engine: Engine) -> None:
    az = customer(
        engine,
        1,
        "leyla@example.az",
        "Salam, sifarişim #4411 hələ gəlmədi.",
        "ok",
        "Kuryerin nömrəsini göndərə bilərsiniz?",
    )
    tr = customer(engine, 2, "mehmet@example.com.tr", "Merhaba, kargom nerede? Takip no: 55120")
    fa = customer(engine, 3, "visitor-9", "سلام، iPhone 15 که سفارش دادم هنوز نرسیده")
    en = customer(engine, 4, "kate@example.com", "Hi, where is my refund for order 998?")
    unknown = customer(engine, 5, "x@example.com", "👍", "#4411")
    reader = Reader(store_url)
    assert reader.customer_language(az) == "az"
    assert reader.customer_language(tr) == "tr"
    assert reader.customer_language(fa) == "fa"
    assert reader.customer_language(en) == "en"
    assert reader.customer_language(unknown) is None
    assert reader.customer_language(999_999) is None
    detail = reader.customer(az)
    assert detail is not None and detail.language == "az"
    info = reader.customer_info(fa)
    assert info is not None and info.language == "fa"


def test_only_what_the_customer_wrote_counts_and_new_messages_are_read(
    store_url: str, engine: Engine
) -> None:
    reader = Reader(store_url)
    cid = customer(engine, 1, "sam@example.com", "ok")
    assert reader.customer_language(cid) is None
    # Our English reply and note are not the customer's words.
    inbox.queue_reply(
        engine, cid, "Hello, could you tell us your order number please?", agent="leyla"
    )
    inbox.add_note(
        engine, cid, "He writes in Turkish I think, will check with the team", agent="leyla"
    )
    assert reader.customer_language(cid) is None
    # A new message moves the customer's version: the language is detected again.
    customer(engine, 2, "sam@example.com", "Merhaba, siparişim hâlâ gelmedi, lütfen yardım edin.")
    assert reader.customer_language(cid) == "tr"
    # A quoted reply of ours under their answer does not speak for them.
    customer(
        engine,
        3,
        "sam@example.com",
        "Sipariş numaram 4411, teşekkürler.\n\n"
        "On Mon, 2 Nov 2026 at 10:00, Support <help@example.com> wrote:\n"
        "> Hello, could you tell us your order number please? We are happy to help.\n"
        "> Thanks for your patience, the team will get back to you soon.\n",
    )
    assert reader.customer_language(cid) == "tr"


async def test_the_header_and_the_customer_screen_show_the_language(
    tui_store: Store, tui_settings: Settings
) -> None:
    app = make_app(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.inbox
        # The list's first page selects its first customer: pick Əli once it has.
        await wait_for(pilot, lambda: screen.customers.selected_id is not None, what="listed")
        screen.customers.select_customer(tui_store.ali)
        screen.timeline.show_customer(tui_store.ali)
        header = screen.query_one("#customer-header")

        def shown() -> str:
            return str(header.render())

        await wait_for(pilot, lambda: "Əli Məmmədov" in shown(), what="Əli's header")
        assert "  az  " in shown()
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerScreen), what="the screen")
        line = app.screen.query_one("#customer-language")
        await wait_for(pilot, lambda: "az (detected)" in str(line.render()), what="the line")
        assert str(line.render()) == "Language: az (detected)"
