"""Deterministic world generation: people, relationships and every app's content from a seed.

``World.generate(seed, n_people)`` draws only from ``random.Random`` instances seeded by
SHA-256 of ``"seed:purpose"`` (``rng.rng``), inserts rows in a fixed order, and dates all
content before the world's frozen "now"; the same seed gives a byte-identical SQL dump.
The main user is person 1.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from dataclasses import dataclass
from typing import Any

from simlab.agents.world import db
from simlab.agents.world.apps.music import GENRES
from simlab.agents.world.rng import rng

__all__ = ["World"]

FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Ben",
    "Bianca",
    "Caleb",
    "Chloe",
    "Daniel",
    "Dara",
    "Elena",
    "Emil",
    "Farah",
    "Felix",
    "Gemma",
    "Hugo",
    "Ines",
    "Ivan",
    "Jade",
    "Jonas",
    "Kai",
    "Kira",
    "Leo",
    "Lina",
    "Marco",
    "Maya",
    "Nadia",
    "Nico",
    "Olga",
    "Omar",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sami",
    "Sofia",
    "Tariq",
    "Tessa",
    "Uma",
    "Victor",
    "Wren",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zoe",
    "Arlo",
    "Beatriz",
    "Cyrus",
    "Delia",
]
LAST = [
    "Abbott",
    "Barros",
    "Castillo",
    "Dimitrov",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ishikawa",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Sato",
    "Tanaka",
    "Ueda",
    "Vargas",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Almeida",
    "Brennan",
    "Costa",
    "Duarte",
    "Engel",
    "Ferreira",
    "Gallo",
    "Horvat",
    "Iyer",
    "Jovanovic",
]
CITIES = [
    "Lisbon",
    "Oslo",
    "Porto",
    "Austin",
    "Denver",
    "Lyon",
    "Kyoto",
    "Perth",
    "Quebec",
    "Turin",
    "Malmo",
    "Ghent",
]
DOMAINS = ("mailbox.test", "postbox.test", "inbox.test")
APPS_WITH_ACCOUNTS = ("phone", "wallet", "notes", "music", "mail", "files", "shop")
PAY_FOR = (
    "pizza night",
    "rent",
    "concert tickets",
    "groceries",
    "taxi",
    "birthday gift",
    "utilities",
    "coffee",
    "movie night",
    "dinner",
    "gym pass",
    "board games",
    "train tickets",
    "brunch",
)
MESSAGES = (
    "Are we still on for {day}?",
    "Running 10 minutes late, sorry!",
    "Can you call me later?",
    "Thanks for yesterday!",
    "Did you see the game last night?",
    "Happy {day}!",
    "I left my keys at your place.",
    "Lunch on {day}?",
    "Got the tickets.",
    "Let me know when you're home.",
    "The package arrived.",
    "See you at the station.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WORDS = [
    "silver",
    "river",
    "quiet",
    "storm",
    "golden",
    "hour",
    "paper",
    "moon",
    "velvet",
    "sky",
    "neon",
    "garden",
    "echo",
    "valley",
    "crimson",
    "tide",
    "lonely",
    "road",
    "summer",
    "rain",
    "midnight",
    "train",
    "wild",
    "heart",
    "broken",
    "compass",
    "open",
    "sea",
    "northern",
    "lights",
    "falling",
    "star",
    "glass",
    "city",
    "hidden",
    "fire",
    "electric",
    "dream",
    "slow",
    "dance",
    "blue",
    "ember",
]
NOTE_TOPICS = (
    ("Recipe: {w} soup", "recipes", "Ingredients: {a}, {b}, salt.\nSimmer for {n} minutes."),
    ("Trip to {city}", "travel", "Flight on day {n}.\nHotel near the old town.\nVisit the {w}."),
    ("Books to read", "reading", "- The {w} of {a}\n- {b} and {w}"),
    ("Meeting notes {n}", "work", "Discussed the {w} project.\nNext step: {a} review."),
    ("Gift ideas", "personal", "{a} for mom.\n{b} for the neighbours."),
    ("Workout plan", "health", "Run {n} km on Monday.\nYoga on Thursday."),
    ("Garden log", "home", "Planted {a} and {b}.\nWater every {n} days."),
)
TODO_ITEMS = {
    "groceries": ("milk", "eggs", "bread", "apples", "coffee beans", "rice", "olive oil"),
    "home": ("fix the shelf", "water the plants", "clean the oven", "change light bulb"),
    "work": ("send report", "book meeting room", "review slides", "update roadmap"),
    "errands": ("return library books", "pick up dry cleaning", "renew passport", "post letter"),
}
PRODUCTS = {
    "electronics": ("headphones", "charger", "keyboard", "mouse", "speaker", "webcam", "e-reader"),
    "books": ("cookbook", "novel", "atlas", "poetry collection", "biography", "puzzle book"),
    "kitchen": ("kettle", "frying pan", "knife set", "blender", "teapot", "cutting board"),
    "clothing": ("rain jacket", "wool socks", "scarf", "sneakers", "sun hat", "gloves"),
    "sports": ("yoga mat", "water bottle", "tennis balls", "bike light", "jump rope"),
    "toys": ("puzzle", "kite", "building blocks", "board game", "plush bear"),
    "garden": ("watering can", "seed kit", "pruning shears", "plant pot"),
}
BRANDS = ("Acorn", "Brightline", "Cobalt", "Driftwood", "Everly", "Fjord", "Granite", "Harbor")
EMAIL_SUBJECTS = (
    ("Invoice {n}", "Please find attached invoice {n}. Amount due: ${amount}.", "invoice"),
    ("Trip itinerary", "Your trip to {city} is confirmed for {date}.", "travel"),
    ("Team lunch", "Shall we do lunch on {day}?", None),
    ("Project {w} update", "The {w} project is on track. Review on {day}.", "work"),
    ("Photos from the weekend", "Here are the photos from {city}!", None),
    ("Receipt for your order", "Thanks for your purchase. Total: ${amount}.", "receipt"),
    ("Book club", "This month we read The {w}. Meeting on {day}.", None),
)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


@dataclass
class World:
    """A generated world: ``conn`` is its base state (never mutated; copy it per task)."""

    seed: int
    n_people: int
    conn: sqlite3.Connection
    now: str  # the world's frozen "now" (ISO datetime); all content is dated before it

    @classmethod
    def generate(cls, seed: int = 0, n_people: int = 100) -> World:
        """The world of ``seed`` (cached per process; the cached base state is read-only)."""
        return _generate(int(seed), int(n_people))

    def copy(self) -> sqlite3.Connection:
        """An independent copy of the base state."""
        return db.copy_db(self.conn)

    @property
    def user(self) -> dict[str, Any]:
        return dict(self.conn.execute("SELECT * FROM supervisor_people WHERE id = 1").fetchone())


@functools.lru_cache(maxsize=4)
def _generate(seed: int, n_people: int) -> World:
    if n_people < 60:
        raise ValueError(f"n_people must be at least 60, got {n_people}")
    conn = db.connect()
    r0 = rng(seed, "now")
    now = dt.datetime(2025, 3, 3, 9, 0) + dt.timedelta(days=r0.randrange(90))
    conn.execute("INSERT INTO meta_clock (id, now) VALUES (1, ?)", (_iso(now),))
    g = _Gen(conn, seed, now)
    g.people(n_people)
    g.supervisor()
    g.phone()
    g.wallet()
    g.notes()
    g.music()
    g.mail()
    g.files()
    g.shop()
    return World(seed, n_people, conn, _iso(now))


class _Gen:
    def __init__(self, conn: sqlite3.Connection, seed: int, now: dt.datetime):
        self.conn, self.seed, self.now = conn, seed, now

    def r(self, purpose: str):
        return rng(self.seed, purpose)

    def ins(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self.conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values())
        ).lastrowid

    def past(self, r, max_days: float = 120.0) -> str:
        """A time uniformly within ``max_days`` before now, on whole seconds."""
        return _iso(self.now - dt.timedelta(seconds=r.randrange(60, int(max_days * 86400))))

    def people(self, n: int) -> None:
        r = self.r("people")
        names = [(f, l) for f in FIRST for l in LAST]
        r.shuffle(names)
        numbers = r.sample(range(1000000, 9999999), n)
        self.persons = []
        for i, ((first, last), num) in enumerate(zip(names[:n], numbers), start=1):
            p = dict(
                id=i,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}@{r.choice(DOMAINS)}",
                phone_number=f"555{num}",
                birthday=f"{r.randrange(1955, 2004)}-{r.randrange(1, 13):02d}-"
                f"{r.randrange(1, 29):02d}",
                city=r.choice(CITIES),
            )
            self.ins("supervisor_people", **p)
            self.persons.append(p)
        kinds = (
            ["partner"]
            + ["parent"] * 2
            + ["sibling"] * 2
            + ["roommate"] * 3
            + ["manager"]
            + ["friend"] * 16
            + ["coworker"] * 12
        )
        others = r.sample(range(2, n + 1), len(kinds))
        self.rel = dict(zip(others, kinds))  # person id -> relationship to the user
        for pid in sorted(self.rel):
            self.ins(
                "supervisor_relationships", person_id=1, other_id=pid, relationship=self.rel[pid]
            )

    def person(self, pid: int) -> dict[str, Any]:
        return self.persons[pid - 1]

    def supervisor(self) -> None:
        r = self.r("supervisor")
        me = self.person(1)
        self.ins(
            "supervisor_addresses",
            name="Home",
            street=f"{r.randrange(1, 200)} Elm Street",
            city=me["city"],
            zip_code=f"{r.randrange(10000, 99999)}",
        )
        self.ins(
            "supervisor_addresses",
            name="Work",
            street=f"{r.randrange(1, 200)} Harbor Road",
            city=me["city"],
            zip_code=f"{r.randrange(10000, 99999)}",
        )
        for name in ("Everyday Visa", "Travel Mastercard"):
            self.ins(
                "supervisor_cards",
                card_name=name,
                owner_name=f"{me['first_name']} {me['last_name']}",
                card_number="".join(str(r.randrange(10)) for _ in range(16)),
                expiry_date=f"{r.randrange(1, 13):02d}/{r.randrange(26, 31)}",
                cvv=f"{r.randrange(100, 999)}",
            )
        alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        for app in APPS_WITH_ACCOUNTS:
            pw = "".join(r.choice(alphabet) for _ in range(12))
            self.ins("supervisor_passwords", account_name=app, password=pw)

    def phone(self) -> None:
        r = self.r("phone")
        me = self.person(1)
        for pid in sorted(self.rel):
            p = self.person(pid)
            self.ins(
                "phone_contacts",
                first_name=p["first_name"],
                last_name=p["last_name"],
                phone_number=p["phone_number"],
                email=p["email"],
                relationship=self.rel[pid],
                birthday=p["birthday"],
                city=p["city"],
                created_at=self.past(r, 900),
            )
        contacts = sorted(self.rel)
        times = sorted(self.past(r, 60) for _ in range(160))
        for t in times:
            other = self.person(r.choice(contacts))
            body = r.choice(MESSAGES).format(day=r.choice(DAYS))
            incoming = r.random() < 0.55
            self.ins(
                "phone_messages",
                sender_number=other["phone_number"] if incoming else me["phone_number"],
                receiver_number=me["phone_number"] if incoming else other["phone_number"],
                body=body,
                is_read=int(not incoming or r.random() < 0.7),
                sent_at=t,
            )
        for time, label, days in (
            ("06:45", "Wake up", "monday,tuesday,wednesday,thursday,friday"),
            ("08:30", "Weekend run", "saturday"),
            ("21:00", "Take vitamins", ""),
        ):
            self.ins(
                "phone_alarms",
                time=time,
                label=label,
                repeat_days=days,
                enabled=1,
                created_at=self.past(r, 300),
            )

    def wallet(self) -> None:
        r = self.r("wallet")
        for p in self.persons:
            self.ins(
                "wallet_users",
                id=p["id"],
                first_name=p["first_name"],
                last_name=p["last_name"],
                email=p["email"],
                balance=1500.0 if p["id"] == 1 else float(r.randrange(50, 2000)),
                created_at=self.past(r, 1000),
            )
        friends = [
            pid
            for pid, k in sorted(self.rel.items())
            if k in ("friend", "roommate", "partner", "sibling")
        ]
        for pid in friends:
            self.ins("wallet_friends", user_id=1, friend_id=pid, created_at=self.past(r, 500))
        ids = [p["id"] for p in self.persons]
        times = sorted(self.past(r, 90) for _ in range(260))
        for t in times:
            if r.random() < 0.35:
                a, b = 1, r.choice(friends)
                if r.random() < 0.5:
                    a, b = b, a
            else:
                a, b = r.sample(ids[1:], 2)
            tid = self.ins(
                "wallet_transactions",
                sender_id=a,
                receiver_id=b,
                amount=float(r.randrange(5, 150)),
                description=r.choice(PAY_FOR),
                is_private=int(r.random() < 0.15),
                created_at=t,
            )
            for liker in sorted(r.sample(ids, r.choice((0, 0, 1, 2, 3)))):
                self.ins("wallet_likes", transaction_id=tid, user_id=liker, created_at=t)
            if r.random() < 0.2:
                self.ins(
                    "wallet_comments",
                    transaction_id=tid,
                    user_id=r.choice((a, b)),
                    body=r.choice(("thanks!", "🍕", "next one is on me", "great night")),
                    created_at=t,
                )
        for i in range(14):
            sent = i < 8
            other = r.choice(friends)
            t = self.past(r, 40)
            self.ins(
                "wallet_requests",
                requester_id=1 if sent else other,
                payer_id=other if sent else 1,
                amount=float(r.randrange(10, 120)),
                description=r.choice(PAY_FOR),
                status=r.choice(("pending", "pending", "paid", "declined")),
                reminders=0,
                created_at=t,
                updated_at=t,
            )

    def notes(self) -> None:
        r = self.r("notes")
        for i in range(24):
            title, tag, body = NOTE_TOPICS[i % len(NOTE_TOPICS)]
            fill = dict(
                w=r.choice(WORDS),
                a=r.choice(WORDS),
                b=r.choice(WORDS),
                n=r.randrange(2, 40),
                city=r.choice(CITIES),
            )
            t = self.past(r, 200)
            self.ins(
                "notes_notes",
                title=title.format(**fill)
                + ("" if i < len(NOTE_TOPICS) else f" ({i // len(NOTE_TOPICS) + 1})"),
                body=body.format(**fill),
                tags=tag,
                is_pinned=int(r.random() < 0.2),
                created_at=t,
                updated_at=t,
            )
        for list_name, items in TODO_ITEMS.items():
            for title in items:
                done = r.random() < 0.3
                due = (
                    None
                    if r.random() < 0.2
                    else (self.now.date() + dt.timedelta(days=r.randrange(-10, 21))).isoformat()
                )
                t = self.past(r, 30)
                self.ins(
                    "notes_todos",
                    list_name=list_name,
                    title=title,
                    due_date=due,
                    is_done=int(done),
                    created_at=t,
                    completed_at=t if done else None,
                )

    def music(self) -> None:
        r = self.r("music")
        names = sorted(
            {f"The {r.choice(WORDS).title()} {r.choice(WORDS).title()}s" for _ in range(40)}
        )[:24]
        for name in names:
            self.ins(
                "music_artists",
                name=name,
                genre=r.choice(GENRES),
                followers=r.randrange(100, 90000),
            )
        n_art = len(names)
        for i in range(40):
            self.ins(
                "music_albums",
                title=f"{r.choice(WORDS).title()} {r.choice(WORDS).title()}",
                artist_id=i % n_art + 1,
                release_year=r.randrange(1975, 2025),
            )
        titles = set()
        while len(titles) < 160:
            titles.add(f"{r.choice(WORDS).title()} {r.choice(WORDS).title()}")
        for title in sorted(titles):
            album = r.randrange(1, 41)
            artist = (album - 1) % n_art + 1
            genre = self.conn.execute(
                "SELECT genre FROM music_artists WHERE id=?", (artist,)
            ).fetchone()[0]
            self.ins(
                "music_songs",
                title=title,
                artist_id=artist,
                album_id=album,
                genre=genre,
                duration_seconds=r.randrange(120, 420),
                play_count=r.randrange(0, 500000),
            )
        songs = list(range(1, 161))
        for title in ("Morning Commute", "Focus", "Road Trip", "Sunday Chill"):
            pid = self.ins(
                "music_playlists",
                title=title,
                is_public=int(r.random() < 0.5),
                created_at=self.past(r, 300),
            )
            for s in sorted(r.sample(songs, r.randrange(5, 12))):
                self.ins(
                    "music_playlist_songs", playlist_id=pid, song_id=s, added_at=self.past(r, 100)
                )
        for table, col, k in (
            ("music_liked_songs", "liked_at", 26),
            ("music_library", "added_at", 40),
            ("music_downloads", "downloaded_at", 10),
        ):
            for s in sorted(r.sample(songs, k)):
                self.ins(table, song_id=s, **{col: self.past(r, 200)})
        for a in sorted(r.sample(range(1, n_art + 1), 5)):
            self.ins("music_followed_artists", artist_id=a, followed_at=self.past(r, 400))

    def mail(self) -> None:
        r = self.r("mail")
        me = self.person(1)
        times = sorted(self.past(r, 60) for _ in range(110))
        for i, t in enumerate(times, start=1):
            subject, body, label = r.choice(EMAIL_SUBJECTS)
            other = self.person(r.randrange(2, len(self.persons) + 1))
            fill = dict(
                n=r.randrange(1000, 9999),
                amount=f"{r.randrange(20, 900)}.{r.randrange(100):02d}",
                city=r.choice(CITIES),
                date=(self.now.date() + dt.timedelta(days=r.randrange(5, 60))).isoformat(),
                day=r.choice(DAYS),
                w=r.choice(WORDS).title(),
            )
            incoming = r.random() < 0.75
            eid = self.ins(
                "mail_emails",
                thread_id=i,
                sender=other["email"] if incoming else me["email"],
                recipients=me["email"] if incoming else other["email"],
                subject=subject.format(**fill),
                body=body.format(**fill),
                folder=("inbox" if r.random() < 0.7 else "archive") if incoming else "sent",
                is_read=int(not incoming or r.random() < 0.6),
                is_starred=int(r.random() < 0.1),
                sent_at=t,
            )
            if label and r.random() < 0.6:
                self.ins("mail_labels", email_id=eid, label=label)
            if label in ("invoice", "receipt"):
                self.ins(
                    "mail_attachments",
                    email_id=eid,
                    file_name=f"{label}_{fill['n']}.txt",
                    content=f"{subject.format(**fill)}\nTotal: ${fill['amount']}",
                )

    def files(self) -> None:
        r = self.r("files")
        for d in ("/documents", "/photos", "/receipts", "/travel", "/work", "/work/reports"):
            self.ins("files_directories", path=d, created_at=self.past(r, 700))
        for i in range(30):
            d = r.choice(
                ("/documents", "/receipts", "/travel", "/work", "/work/reports", "/photos")
            )
            w = r.choice(WORDS)
            ext = ".jpg" if d == "/photos" else ".txt"
            path = f"{d}/{w}_{i}{ext}"
            content = (
                f"{w} {r.choice(WORDS)} notes, item {i}.\nTotal: ${r.randrange(5, 500)}.00"
                if ext == ".txt"
                else f"<image {w}>"
            )
            t = self.past(r, 300)
            self.ins("files_files", path=path, content=content, created_at=t, updated_at=t)

    def shop(self) -> None:
        r = self.r("shop")
        for cat, items in PRODUCTS.items():
            for item in items:
                for _ in range(2):
                    self.ins(
                        "shop_products",
                        name=f"{r.choice(BRANDS)} {item}",
                        category=cat,
                        brand=r.choice(BRANDS),
                        price=float(r.randrange(5, 300)) - 0.01,
                        stock=r.randrange(0, 40),
                        rating=round(r.uniform(2.5, 5.0), 1),
                    )
        n = self.conn.execute("SELECT COUNT(*) FROM shop_products").fetchone()[0]
        for pid in range(1, n + 1):
            for _ in range(r.choice((0, 1, 2, 3))):
                who = self.person(r.randrange(2, len(self.persons) + 1))
                self.ins(
                    "shop_reviews",
                    product_id=pid,
                    author=f"{who['first_name']} {who['last_name']}",
                    rating=r.randrange(1, 6),
                    body=r.choice(
                        (
                            "Works well.",
                            "Not worth the price.",
                            "Great quality!",
                            "Arrived late.",
                            "Exactly as described.",
                        )
                    ),
                    created_at=self.past(r, 300),
                )
        for i in range(6):
            items = r.sample(range(1, n + 1), r.randrange(1, 4))
            oid = self.ins(
                "shop_orders",
                address_id=1,
                card_id=r.choice((1, 2)),
                total=0.0,
                status="delivered" if i < 4 else "placed",
                created_at=self.past(r, 60),
            )
            total = 0.0
            for pid in sorted(items):
                price = self.conn.execute(
                    "SELECT price FROM shop_products WHERE id=?", (pid,)
                ).fetchone()[0]
                q = r.randrange(1, 3)
                total += price * q
                self.ins("shop_order_items", order_id=oid, product_id=pid, quantity=q, price=price)
            self.conn.execute("UPDATE shop_orders SET total=? WHERE id=?", (round(total, 2), oid))
        for pid in sorted(r.sample(range(1, n + 1), 5)):
            self.ins("shop_wishlist", product_id=pid, added_at=self.past(r, 100))
