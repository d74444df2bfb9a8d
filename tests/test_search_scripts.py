"""Search finds customers and messages as agents type them, across scripts and keyboards, on
the run's store (``--store postgresql`` runs the same cases on PostgreSQL): every row of the
normalization table (omnitui/normalize.py) with real words, stored one way, typed another."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from omnitui import inbox
from omnitui.connectors.base import Batch
from omnitui.normalize import fold
from omnitui.reads import Reader
from tests.conftest import MakeMessage
from tests.test_normalize import SAME

# (stored in a message or a name, typed in the search box)
CASES = [
    ("İstanbul", "istanbul"),
    ("İstanbul", "ISTANBUL"),
    ("ISTANBUL", "İstanbul"),
    ("Işıl", "ışıl"),
    ("ışıl", "IŞIL"),
    ("Əliyev", "əliyev"),
    ("ƏLİYEV", "Əliyev"),
    ("Gökçe", "gokce"),
    ("می‌خواهم", "میخواهم"),
    ("میخواهم", "می‌خواهم"),
    ("علي", "علی"),
    ("كتاب", "کتاب"),
    ("مدرسة", "مدرسه"),
    ("مُحَمَّد", "محمد"),
    ("۱۲۳۴۵", "12345"),
]


@pytest.mark.parametrize(("stored", "typed"), CASES)
def test_a_message_is_found_however_its_words_are_typed(
    engine: Engine, store_url: str, make_message: MakeMessage, stored: str, typed: str
) -> None:
    inbox.ingest(
        engine,
        Batch(
            [
                make_message(f"Salam, {stored} haqqında", address="a@x.az"),
                make_message("nothing to see here", address="b@x.az"),
            ]
        ),
    )
    reader = Reader(store_url)
    hits = [h for h in reader.search_query(typed) if h.message_id is not None]
    assert [h.excerpt for h in hits] == [f"Salam, {stored} haqqında"], (stored, typed)
    # A prefix of the typed word finds it too (results as the agent types).
    prefix = typed[: max(2, len(typed) - 2)]
    assert any(h.message_id for h in reader.search_query(prefix)), prefix


@pytest.mark.parametrize(("stored", "typed"), CASES)
def test_a_customer_is_found_by_name_however_it_is_typed(
    engine: Engine, store_url: str, make_message: MakeMessage, stored: str, typed: str
) -> None:
    inbox.ingest(
        engine,
        Batch(
            [
                make_message("hello", address="a@x.az", display_name=f"{stored} Məmmədova"),
                make_message("hello", address="b@x.az", display_name="Someone Else"),
            ]
        ),
    )
    reader = Reader(store_url)
    named = [h.name for h in reader.search_query(typed) if h.message_id is None]
    assert named == [f"{stored} Məmmədova"]
    # from: folds the value and the sender's name the same way on every store.
    found = reader.search_query(f"from:{typed}")
    assert {h.name for h in found} == {f"{stored} Məmmədova"}


def test_a_phrase_and_an_exclusion_mean_the_same_on_every_store(
    engine: Engine, store_url: str, make_message: MakeMessage
) -> None:
    inbox.ingest(
        engine,
        Batch(
            [
                make_message("Kargo İstanbul'dan yola çıktı", address="a@x.az"),
                make_message("İstanbul kargo gecikti", address="b@x.az"),
                make_message("Ankara kargo yolda", address="c@x.az"),
            ]
        ),
    )
    reader = Reader(store_url)

    def bodies(query: str) -> list[str]:
        return [h.excerpt for h in reader.search_query(query) if h.message_id is not None]

    assert bodies('"kargo istanbul"') == ["Kargo İstanbul'dan yola çıktı"]
    assert bodies('"istanbul kargo"') == ["İstanbul kargo gecikti"]
    assert bodies('"kargo yola"') == []
    assert bodies("kargo -istanbul") == ["Ankara kargo yolda"]
    assert bodies("KARGO yol") == ["Ankara kargo yolda", "Kargo İstanbul'dan yola çıktı"]


def _fold_in_store(engine: Engine, value: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT omnitui_fold(:v)"), {"v": value}).scalar_one())


@pytest.mark.parametrize(("typed", "stored"), SAME)
def test_postgresql_folds_as_python_does(
    engine: Engine, store_kind: str, typed: str, stored: str
) -> None:
    """from:/to:/customer: fold names inside PostgreSQL (omnitui_fold, migration 0002): it
    must fold exactly as normalize.fold, which made the index the search narrows by."""
    if store_kind != "postgresql":
        pytest.skip("SQLite calls normalize.fold itself (a function on the connection)")
    assert _fold_in_store(engine, typed) == fold(typed)
    assert _fold_in_store(engine, stored) == fold(stored)


# The scripts our customers write (Latin with its extensions, Arabic with its presentation
# forms, Cyrillic), with spaces, punctuation and format characters. Outside them Python's
# casefold() and ICU's lower() differ on a few letters (Cherokee, Greek final sigma).
_SCRIPTS = [
    (0x20, 0x24F),
    (0x300, 0x36F),
    (0x400, 0x4FF),
    (0x600, 0x6FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
    (0xFF01, 0xFF5E),
]
_NAMES = st.text(
    alphabet=st.one_of(
        [
            st.characters(min_codepoint=a, max_codepoint=b, exclude_categories=("Cs", "Cc"))
            for a, b in _SCRIPTS
        ]
    ),
    max_size=30,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_NAMES)
def test_postgresql_folds_any_text_as_python_does(
    engine: Engine, store_kind: str, value: str
) -> None:
    if store_kind != "postgresql":
        pytest.skip("SQLite calls normalize.fold itself")
    assert _fold_in_store(engine, value) == fold(value)
