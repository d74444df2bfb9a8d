"""Invented customers and what they write, in English, Azerbaijani, Turkish and Persian.

Used by the demo channel (live messages), ``omnitui demo`` (a bulk history) and
the benchmarks. Deterministic for a seed: persona ``i`` of seed ``s`` is always
the same person. Fast: a message is a few ``random.choice`` calls.

Imports nothing from the rest of omnitui.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGUAGES = ("en", "az", "tr", "fa")
CHANNELS = ("email", "telegram", "webchat")
ACCOUNTS = {"email": "demo-mail", "telegram": "demo-messenger", "webchat": "demo-chat"}
"""The demo connector's account for each simulated channel."""

_FIRST = {
    "en": ["Emma", "Oliver", "Sophia", "Liam", "Ava", "Noah", "Mia", "James", "Grace", "Henry"],
    "az": [
        "Əli",
        "Leyla",
        "Rəşad",
        "Aygün",
        "Elçin",
        "Günel",
        "Tural",
        "Nərgiz",
        "İlkin",
        "Şəbnəm",
    ],
    "tr": ["Işıl", "Mehmet", "Ayşe", "İbrahim", "Gökçe", "Emre", "Şule", "Çağrı", "Öykü", "Burak"],
    "fa": ["علی", "زهرا", "محمد", "فاطمه", "رضا", "مریم", "حسین", "نگار", "امیر", "سارا"],
}
_LAST = {
    "en": ["Smith", "Brown", "Taylor", "Wilson", "Clarke", "Walker", "Hughes", "Green"],
    "az": ["Əliyev", "Məmmədova", "Həsənov", "Quliyeva", "İsmayılov", "Cəfərova", "Rzayev"],
    "tr": ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın", "Doğan"],
    "fa": ["رضایی", "محمدی", "حسینی", "کریمی", "احمدی", "موسوی", "جعفری", "کاظمی"],
}
_LATIN: dict[str | int, str | int | None] = {
    "Ə": "E", "ə": "e", "İ": "I", "ı": "i", "Ş": "S", "ş": "s", "Ç": "C", "ç": "c",
    "Ğ": "G", "ğ": "g", "Ö": "O", "ö": "o", "Ü": "U", "ü": "u",
}  # fmt: skip
_EMAIL_TLD = {"en": "com", "az": "az", "tr": "com.tr", "fa": "ir"}
_FA_LATIN = ["ali", "zahra", "mohammad", "fatemeh", "reza", "maryam", "hossein", "negar"]
_GREETING = {
    "en": ["Hello,", "Hi there,", "Good morning,", "Hi,"],
    "az": ["Salam,", "Salam əleyküm,", "Sabahınız xeyir,", "Hörmətli dəstək,"],
    "tr": ["Merhaba,", "İyi günler,", "Selam,", "Günaydın,"],
    "fa": ["سلام،", "وقت بخیر،", "درود،", "سلام و عرض ادب،"],
}
_ASK = {
    "en": [
        "where is my order #{n}? It was due on Monday.",
        "I was charged twice for invoice {n}, please refund one.",
        "the {p} I received is broken, can I return it?",
        "how do I change the delivery address for order #{n}?",
        "my password reset email never arrives.",
        "do you ship the {p} to Baku?",
        "can I upgrade my plan without losing my data?",
    ],
    "az": [
        "sifarişim #{n} haradadır? Bazar ertəsi gəlməli idi.",
        "{n} nömrəli hesab üçün iki dəfə ödəniş çıxılıb, birini qaytarın.",
        "aldığım {p} sınıqdır, geri qaytara bilərəmmi?",
        "#{n} sifarişinin çatdırılma ünvanını necə dəyişim?",
        "şifrə bərpası məktubu gəlmir.",
        "{p} Gəncəyə çatdırılırmı?",
        "tarifimi məlumatlarımı itirmədən yüksəldə bilərəmmi?",
    ],
    "tr": [
        "#{n} numaralı siparişim nerede? Pazartesi gelmesi gerekiyordu.",
        "{n} numaralı fatura için iki kez ücret alındı, birini iade eder misiniz?",
        "gelen {p} kırık, iade edebilir miyim?",
        "#{n} siparişinin teslimat adresini nasıl değiştiririm?",
        "şifre sıfırlama e-postası hiç gelmiyor.",
        "{p} İstanbul dışına gönderiliyor mu?",
        "verilerimi kaybetmeden paketimi yükseltebilir miyim?",
    ],
    "fa": [
        "سفارش من به شماره {n} کجاست؟ قرار بود دوشنبه برسد.",
        "برای فاکتور {n} دو بار از حسابم پول کم شده، لطفاً یکی را برگردانید.",
        "{p} که به دستم رسید خراب است، می‌توانم آن را پس بدهم؟",
        "چطور آدرس تحویل سفارش {n} را تغییر بدهم؟",
        "ایمیل بازیابی رمز عبور هیچ‌وقت نمی‌رسد.",
        "آیا {p} را به تهران ارسال می‌کنید؟",
        "می‌خواهم اشتراکم را ارتقا بدهم بدون اینکه داده‌هایم از بین برود.",
    ],
}
_PRODUCTS = {
    "en": ["kettle", "headphones", "router", "desk lamp", "backpack", "phone case"],
    "az": ["çaydan", "qulaqlıq", "router", "masa lampası", "bel çantası", "telefon qabı"],
    "tr": ["su ısıtıcısı", "kulaklık", "modem", "masa lambası", "sırt çantası", "telefon kılıfı"],
    "fa": ["کتری برقی", "هدفون", "مودم", "چراغ مطالعه", "کوله‌پشتی", "قاب گوشی"],
}
_THANKS = {
    "en": ["Thanks!", "Thank you.", "Please help, it is urgent.", ""],
    "az": ["Təşəkkürlər!", "Çox sağ olun.", "Təcili kömək edin, xahiş edirəm.", ""],
    "tr": ["Teşekkürler!", "Çok teşekkür ederim.", "Acil yardım lütfen.", ""],
    "fa": ["ممنون!", "خیلی متشکرم.", "لطفاً فوری کمک کنید.", ""],
}
_SUBJECT = {
    "en": ["Order #{n}", "Refund request", "Broken item", "Question about delivery"],
    "az": ["Sifariş #{n}", "Pulun qaytarılması", "Sınıq məhsul", "Çatdırılma ilə bağlı sual"],
    "tr": ["Sipariş #{n}", "İade talebi", "Kırık ürün", "Teslimat hakkında soru"],
    "fa": ["سفارش {n}", "درخواست بازپرداخت", "کالای خراب", "سؤال درباره ارسال"],
}
_REPLY = {
    "en": [
        "Thanks for writing. I have checked order #{n}: it leaves our warehouse today.",
        "Sorry about that! I have refunded the duplicate charge; it shows in 3-5 days.",
        "I am sending you a return label now.",
    ],
    "az": [
        "Yazdığınız üçün təşəkkürlər. #{n} sifarişini yoxladım: bu gün anbardan çıxır.",
        "Üzr istəyirik! Artıq ödənişi qaytardım, 3-5 günə görünəcək.",
        "Sizə indi geri qaytarma etiketi göndərirəm.",
    ],
    "tr": [
        "Yazdığınız için teşekkürler. #{n} siparişini kontrol ettim: bugün depodan çıkıyor.",
        "Kusura bakmayın! Mükerrer ücreti iade ettim, 3-5 gün içinde görünür.",
        "Size şimdi bir iade etiketi gönderiyorum.",
    ],
    "fa": [
        "ممنون که نوشتید. سفارش {n} را بررسی کردم: امروز از انبار ارسال می‌شود.",
        "عذر می‌خواهیم! مبلغ اضافه را برگرداندم، ظرف ۳ تا ۵ روز دیده می‌شود.",
        "همین حالا برچسب مرجوعی را برایتان می‌فرستم.",
    ],
}
_NOTES = [
    "Checked with the warehouse: parcel scanned in Istanbul hub.",
    "VIP customer, second complaint this month.",
    "Refund approved by finance.",
]
AGENTS = ("leyla", "emre", "sara")


@dataclass(frozen=True, slots=True)
class Persona:
    """An invented customer: a name, a language and one address on each of their channels."""

    index: int
    name: str
    language: str
    identities: tuple[tuple[str, str], ...]
    """(channel, address) pairs; the first is where they usually write."""


class World:
    """A seeded source of customers and their messages."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def persona(self, index: int) -> Persona:
        rng = random.Random(self.seed * 1_000_003 + index)
        language = LANGUAGES[rng.randrange(len(LANGUAGES))]
        first, last = rng.choice(_FIRST[language]), rng.choice(_LAST[language])
        if language == "fa":
            handle = f"{rng.choice(_FA_LATIN)}{index}"
        else:
            handle = f"{first}.{last}{index}".translate(str.maketrans(_LATIN)).lower()
        channels = list(CHANNELS)
        rng.shuffle(channels)
        count = 1 if rng.random() < 0.6 else 2 if rng.random() < 0.8 else 3
        identities = []
        for channel in channels[:count]:
            if channel == "email":
                address = f"{handle}@example.{_EMAIL_TLD[language]}"
            elif channel == "telegram":
                address = str(100_000_000 + index)
            else:
                address = f"visitor-{self.seed}-{index}"
            identities.append((channel, address))
        return Persona(index, f"{first} {last}", language, tuple(identities))

    def _number(self) -> str:
        return str(self.rng.randrange(10_000, 99_999))

    def inbound(self, language: str) -> tuple[str, str]:
        """(subject, body) of a customer's message."""
        rng, n = self.rng, self._number()
        product = rng.choice(_PRODUCTS[language])
        body = " ".join(
            part
            for part in (
                rng.choice(_GREETING[language]),
                rng.choice(_ASK[language]).format(n=n, p=product),
                rng.choice(_THANKS[language]),
            )
            if part
        )
        return rng.choice(_SUBJECT[language]).format(n=n), body

    def reply(self, language: str) -> str:
        return self.rng.choice(_REPLY[language]).format(n=self._number())

    def note(self) -> str:
        return self.rng.choice(_NOTES)

    def agent(self) -> str:
        return self.rng.choice(AGENTS)
