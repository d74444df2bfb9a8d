"""Quoted history and signatures fold away; the customer's new words stay in view."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnitui.quoting import split_quoted


def filled(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def folds(text: str, new: str, rest_starts: str) -> None:
    got_new, rest = split_quoted(text)
    assert got_new == new
    assert rest.startswith(rest_starts), rest
    assert filled(got_new) + filled(rest) == filled(text)


def test_english_attribution_and_quote() -> None:
    text = (
        "Thanks, it works now.\n\n"
        "On Mon, Mar 4, 2024 at 10:00 AM Support <help@x.com> wrote:\n> Try again\n"
    )
    folds(text, "Thanks, it works now.", "On Mon, Mar 4, 2024")


def test_attribution_wrapped_over_two_lines() -> None:
    text = (
        "Still broken.\n\nOn Mon, Mar 4, 2024 at 10:00 AM Destek Ekibi <\n"
        "destek@example.com.tr> wrote:\n\n> Please restart the app.\n"
    )
    folds(text, "Still broken.", "On Mon, Mar 4, 2024 at 10:00 AM Destek Ekibi <")


def test_turkish_gmail_attribution() -> None:
    text = (
        "Merhaba, hâlâ gelmedi.\n\n"
        "5 Mar 2024 Sal, 10:00 tarihinde Destek <destek@x.com.tr> şunu yazdı:\n"
        "> Siparişiniz kargoya verildi.\n"
    )
    folds(text, "Merhaba, hâlâ gelmedi.", "5 Mar 2024 Sal")


def test_azerbaijani_attribution() -> None:
    text = (
        "Salam, təşəkkür edirəm!\n\n"
        "B.e., 4 mar 2024, 10:00 tarixində Dəstək <destek@x.az> yazdı:\n"
        "> Sifarişiniz göndərildi.\n"
    )
    folds(text, "Salam, təşəkkür edirəm!", "B.e., 4 mar 2024")
    short = "Oldu, sağ olun.\n\nƏli Məmmədov yazdı:\n> Yoxlayın zəhmət olmasa\n"
    folds(short, "Oldu, sağ olun.", "Əli Məmmədov yazdı:")


def test_persian_attribution_with_bidi_marks() -> None:
    text = (
        "سلام، هنوز مشکل دارم.\n\n"
        "\u200fدر تاریخ دوشنبه ۴ مارس ۲۰۲۴، ساعت ۱۰:۰۰ پشتیبانی <help@x.ir> نوشت:\u200f\n"
        "> لطفا دوباره امتحان کنید\n"
    )
    folds(text, "سلام، هنوز مشکل دارم.", "\u200fدر تاریخ")


def test_german_attribution() -> None:
    text = "Danke!\n\nAm 04.03.2024 um 10:00 schrieb Support <help@x.de>:\n> Bitte neu starten\n"
    folds(text, "Danke!", "Am 04.03.2024")


def test_outlook_original_message_and_header_blocks() -> None:
    original = "OK.\n\n-----Original Message-----\nFrom: Support\nSubject: Re: x\n\nold"
    folds(original, "OK.", "-----Original Message-----")
    underscores = (
        "Tamam, teşekkürler.\n\n________________________________\n"
        "Kimden: Destek <destek@x.com.tr>\nGönderildi: 4 Mart 2024 Pazartesi 10:00\n"
        "Kime: Ayşe\nKonu: Sipariş\n\nEski metin"
    )
    folds(underscores, "Tamam, teşekkürler.", "________________")
    persian = "ممنون\n\nاز: پشتیبانی <help@x.ir>\nبه: علی\nموضوع: سفارش\n\nمتن قدیمی"
    folds(persian, "ممنون", "از: پشتیبانی")
    gonderen = "Thanks\n\n____________\nGönderen: Destek\nTarih: 4 Mart\nKonu: Sipariş\n\nold text"
    folds(gonderen, "Thanks", "____________")


def test_forwarded_message_banner() -> None:
    text = "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: A <a@x>\n\nold"
    folds(text, "FYI, see below.", "---------- Forwarded message")


def test_signature_and_mobile_footers() -> None:
    folds("Call me back please.\n-- \nAli Veli\n+994 50 000 00 00", "Call me back please.", "-- ")
    folds("Where is my order?\n\nSent from my iPhone", "Where is my order?", "Sent from my iPhone")
    folds("Sipariş nerede?\n\niPhone'umdan gönderildi", "Sipariş nerede?", "iPhone'umdan")
    folds("سفارش کجاست؟\n\nارسال شده از iPhone من", "سفارش کجاست؟", "ارسال شده")


def test_trailing_quote_block_and_signature_fold_together() -> None:
    text = "New answer here.\n\n> old question\n> more old\n\n-- \nsig"
    folds(text, "New answer here.", "> old question")


def test_interleaved_answers_are_not_folded() -> None:
    text = "On Mon, 4 Mar 2024 X <x@y> wrote:\n> question one\nanswer one\n> question two\nanswer"
    assert split_quoted(text) == (text, "")


def test_bottom_posting_folds_nothing_but_trailing_history() -> None:
    text = "On Mon, 4 Mar 2024 X <x@y> wrote:\n> question\n\nmy answer below the quote"
    assert split_quoted(text) == (text, "")


def test_a_message_that_is_only_a_quote_is_shown_whole() -> None:
    text = "> only quoted\n> lines"
    assert split_quoted(text) == (text, "")
    forwarded = "-----Original Message-----\nFrom: x\n\nbody"
    assert split_quoted(forwarded) == (forwarded, "")


@pytest.mark.parametrize(
    "text",
    [
        "Just a plain message.\nWith two lines.",
        "He wrote: nothing useful.\nBye",
        "From: Baku\nTo: Istanbul\nDate: 5 May\nCan I change the flight?",
        "Some -- dashes -- inside\nand more",
        "",
    ],
)
def test_ordinary_text_is_not_folded(text: str) -> None:
    assert split_quoted(text) == (text, "")


def test_crlf_lines_are_handled() -> None:
    text = "Thanks\r\n\r\nOn Mon, 4 Mar 2024, X <x@y> wrote:\r\n> old\r\n"
    new, rest = split_quoted(text)
    assert new == "Thanks\r"
    assert rest.startswith("On Mon")


_LINES = st.sampled_from(
    [
        "",
        " ",
        "> quoted",
        ">",
        "-- ",
        "--",
        "hello",
        "Sent from my iPhone",
        "On Mon, 4 Mar 2024 X <x@y> wrote:",
        "On Mon, 4 Mar 2024 X <",
        "x@y> wrote:",
        "Ali yazdı:",
        "-----Original Message-----",
        "________________________________",
        "From: A <a@b>",
        "Subject: s",
        "در تاریخ ۴ مارس نوشت:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINES, st.text(max_size=30)), max_size=40))
def test_no_line_is_ever_lost(lines: list[str]) -> None:
    text = "\n".join(lines)
    new, rest = split_quoted(text)
    assert filled(new) + filled(rest) == filled(text)
    assert new.strip() or not text.strip()


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_no_line_is_lost_in_arbitrary_text(text: str) -> None:
    new, rest = split_quoted(text)
    assert filled(new) + filled(rest) == filled(text)
