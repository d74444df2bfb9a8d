"""Search folding: customers are found as people type them, in every script we serve."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnitui.normalize import fold, words

SAME = [
    # Turkish and Azerbaijani dotted and dotless i, in every case.
    ("İstanbul", "istanbul"),
    ("ISTANBUL", "istanbul"),
    ("Işıl", "ışıl"),
    ("IŞIL", "ışıl"),
    ("İLKİN", "ilkin"),
    # Azerbaijani schwa by case.
    ("Əliyev", "əliyev"),
    ("ƏLİYEV", "əliyev"),
    # Latin diacritics typed on an English keyboard.
    ("Gökçe", "gokce"),
    ("Şahin", "sahin"),
    ("Doğan", "dogan"),
    # Persian zero-width non-joiner is a word joiner.
    ("می‌خواهم", "میخواهم"),
    # Arabic letter variants to Persian.
    ("علي", "علی"),
    ("كتاب", "کتاب"),
    ("مدرسة", "مدرسه"),
    ("أحمد", "احمد"),
    ("آب", "اب"),
    # Harakat and tatweel.
    ("مُحَمَّد", "محمد"),
    ("ســلام", "سلام"),
    # Persian and Arabic-Indic digits.
    ("۱۲۳۴۵", "12345"),
    ("٦٧٨", "678"),
    # Compatibility forms: Arabic presentation forms and full-width Latin.
    ("ﻻ", "لا"),
    ("ＡＢＣ", "abc"),
]


@pytest.mark.parametrize(("typed", "stored"), SAME)
def test_variants_fold_to_one_form(typed: str, stored: str) -> None:
    assert fold(typed) == fold(stored)


def test_schwa_is_a_letter_not_a_diacritic() -> None:
    assert fold("Əli") != fold("Eli")


def test_words_split_like_the_index() -> None:
    assert words("Salam, sifarişim #12345 haradadır?") == [
        "salam",
        "sifarisim",
        "12345",
        "haradadir",
    ]
    assert words("سلام، می‌خواهم اشتراکم را ارتقا بدهم") == [
        "سلام",
        "میخواهم",
        "اشتراکم",
        "را",
        "ارتقا",
        "بدهم",
    ]


def test_bidi_controls_do_not_split_or_hide_words() -> None:
    assert words("ev\u202eil") == ["evil"]


@given(st.text())
def test_folding_is_stable(raw: str) -> None:
    once = fold(raw)
    assert fold(once) == once
