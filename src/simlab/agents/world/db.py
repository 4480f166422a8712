"""The world's relational state: one in-memory SQLite database with per-app table prefixes.

Every table has an integer (or composite integer) primary key; every list query orders by it.
Columns whose names end in ``_at`` are clock stamps written by the server (never chosen by the
user), so state comparisons may ignore them. Tables starting with ``meta_`` are bookkeeping
(the clock, the active task) and are excluded from collateral-change checks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SCHEMA",
    "Diff",
    "TableDiff",
    "View",
    "connect",
    "copy_db",
    "diff_states",
    "dump",
    "primary_key",
]

# table -> column definitions; the primary key is declared inline or as PRIMARY KEY (...).
SCHEMA: dict[str, str] = {
    # population (owned by supervisor: the simulated people and the user's private data)
    "supervisor_people": "id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, "
    "phone_number TEXT, birthday TEXT, city TEXT",
    "supervisor_relationships": "person_id INTEGER, other_id INTEGER, relationship TEXT, "
    "PRIMARY KEY (person_id, other_id)",
    "supervisor_addresses": "id INTEGER PRIMARY KEY, name TEXT, street TEXT, city TEXT, "
    "zip_code TEXT",
    "supervisor_cards": "id INTEGER PRIMARY KEY, card_name TEXT, owner_name TEXT, "
    "card_number TEXT, expiry_date TEXT, cvv TEXT",
    "supervisor_passwords": "id INTEGER PRIMARY KEY, account_name TEXT, password TEXT",
    # phone
    "phone_contacts": "id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, "
    "phone_number TEXT, email TEXT, relationship TEXT, birthday TEXT, city TEXT, "
    "created_at TEXT",
    "phone_messages": "id INTEGER PRIMARY KEY, sender_number TEXT, receiver_number TEXT, "
    "body TEXT, is_read INTEGER, sent_at TEXT",
    "phone_alarms": "id INTEGER PRIMARY KEY, time TEXT, label TEXT, repeat_days TEXT, "
    "enabled INTEGER, created_at TEXT",
    # wallet
    "wallet_users": "id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, "
    "balance REAL, created_at TEXT",
    "wallet_friends": "user_id INTEGER, friend_id INTEGER, created_at TEXT, "
    "PRIMARY KEY (user_id, friend_id)",
    "wallet_transactions": "id INTEGER PRIMARY KEY, sender_id INTEGER, receiver_id INTEGER, "
    "amount REAL, description TEXT, is_private INTEGER, created_at TEXT",
    "wallet_likes": "transaction_id INTEGER, user_id INTEGER, created_at TEXT, "
    "PRIMARY KEY (transaction_id, user_id)",
    "wallet_comments": "id INTEGER PRIMARY KEY, transaction_id INTEGER, user_id INTEGER, "
    "body TEXT, created_at TEXT",
    "wallet_requests": "id INTEGER PRIMARY KEY, requester_id INTEGER, payer_id INTEGER, "
    "amount REAL, description TEXT, status TEXT, reminders INTEGER, created_at TEXT, "
    "updated_at TEXT",
    # notes
    "notes_notes": "id INTEGER PRIMARY KEY, title TEXT, body TEXT, tags TEXT, "
    "is_pinned INTEGER, created_at TEXT, updated_at TEXT",
    "notes_todos": "id INTEGER PRIMARY KEY, list_name TEXT, title TEXT, due_date TEXT, "
    "is_done INTEGER, created_at TEXT, completed_at TEXT",
    # music
    "music_artists": "id INTEGER PRIMARY KEY, name TEXT, genre TEXT, followers INTEGER",
    "music_albums": "id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER, release_year INTEGER",
    "music_songs": "id INTEGER PRIMARY KEY, title TEXT, artist_id INTEGER, album_id INTEGER, "
    "genre TEXT, duration_seconds INTEGER, play_count INTEGER",
    "music_playlists": "id INTEGER PRIMARY KEY, title TEXT, is_public INTEGER, created_at TEXT",
    "music_playlist_songs": "playlist_id INTEGER, song_id INTEGER, added_at TEXT, "
    "PRIMARY KEY (playlist_id, song_id)",
    "music_liked_songs": "song_id INTEGER PRIMARY KEY, liked_at TEXT",
    "music_library": "song_id INTEGER PRIMARY KEY, added_at TEXT",
    "music_downloads": "song_id INTEGER PRIMARY KEY, downloaded_at TEXT",
    "music_followed_artists": "artist_id INTEGER PRIMARY KEY, followed_at TEXT",
    # mail
    "mail_emails": "id INTEGER PRIMARY KEY, thread_id INTEGER, sender TEXT, recipients TEXT, "
    "subject TEXT, body TEXT, folder TEXT, is_read INTEGER, is_starred INTEGER, sent_at TEXT",
    "mail_labels": "email_id INTEGER, label TEXT, PRIMARY KEY (email_id, label)",
    "mail_attachments": "id INTEGER PRIMARY KEY, email_id INTEGER, file_name TEXT, content TEXT",
    # files
    "files_directories": "id INTEGER PRIMARY KEY, path TEXT UNIQUE, created_at TEXT",
    "files_files": "id INTEGER PRIMARY KEY, path TEXT UNIQUE, content TEXT, created_at TEXT, "
    "updated_at TEXT",
    # shop
    "shop_products": "id INTEGER PRIMARY KEY, name TEXT, category TEXT, brand TEXT, price REAL, "
    "stock INTEGER, rating REAL",
    "shop_cart": "product_id INTEGER PRIMARY KEY, quantity INTEGER, added_at TEXT",
    "shop_orders": "id INTEGER PRIMARY KEY, address_id INTEGER, card_id INTEGER, total REAL, "
    "status TEXT, created_at TEXT",
    "shop_order_items": "order_id INTEGER, product_id INTEGER, quantity INTEGER, price REAL, "
    "PRIMARY KEY (order_id, product_id)",
    "shop_reviews": "id INTEGER PRIMARY KEY, product_id INTEGER, author TEXT, rating INTEGER, "
    "body TEXT, created_at TEXT",
    "shop_wishlist": "product_id INTEGER PRIMARY KEY, added_at TEXT",
    # bookkeeping (never part of a task's tests)
    "meta_clock": "id INTEGER PRIMARY KEY, now TEXT",
    "meta_task": "id INTEGER PRIMARY KEY, task_id TEXT, instruction TEXT, completed INTEGER, "
    "answer TEXT",
}


def primary_key(table: str) -> tuple[str, ...]:
    """The primary-key column names of ``table``."""
    cols = SCHEMA[table]
    if "PRIMARY KEY (" in cols:
        inner = cols.split("PRIMARY KEY (", 1)[1].split(")", 1)[0]
        return tuple(c.strip() for c in inner.split(","))
    return tuple(c.split()[0] for c in cols.split(", ") if "PRIMARY KEY" in c)


def connect() -> sqlite3.Connection:
    """A fresh in-memory database with every table created (empty)."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for table, cols in SCHEMA.items():
        conn.execute(f"CREATE TABLE {table} ({cols})")
    return conn


def copy_db(src: sqlite3.Connection) -> sqlite3.Connection:
    """An independent in-memory copy of ``src`` (``sqlite3.Connection.backup``)."""
    dst = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    src.backup(dst)
    dst.row_factory = sqlite3.Row
    return dst


def dump(conn: sqlite3.Connection) -> str:
    """The SQL dump of the database (byte-identical for identical states)."""
    return "\n".join(conn.iterdump())


class View:
    """A read-only view of a state, given to task tests as ``start`` and ``end``."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Rows of a SELECT as dicts."""
        if not sql.lstrip().upper().startswith("SELECT"):
            raise ValueError("View only runs SELECT statements")
        return [dict(r) for r in self._conn.execute(sql, args).fetchall()]

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = self.rows(sql, *args)
        return rows[0] if rows else None

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self._conn.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def table(self, table: str) -> dict[tuple, dict[str, Any]]:
        """All rows of ``table`` keyed by primary-key tuple."""
        key = primary_key(table)
        order = ", ".join(key)
        return {
            tuple(r[k] for k in key): r
            for r in self.rows(f"SELECT * FROM {table} ORDER BY {order}")
        }


@dataclass
class TableDiff:
    """Row-level changes of one table between two states (rows as dicts)."""

    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    # (before, after) pairs of rows with the same key whose non-stamp columns differ
    changed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


Diff = dict[str, TableDiff]


def changed_columns(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Columns that differ, ignoring server clock stamps (``*_at``)."""
    return [c for c in after if not c.endswith("_at") and before.get(c) != after[c]]


def _raw(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: several times faster than sqlite3.Row
    return cur.execute(sql).fetchall()


def diff_states(start: View, end: View) -> Diff:
    """Every non-bookkeeping table's added / removed / changed rows, keyed by primary key."""
    out: Diff = {}
    for table in SCHEMA:
        if table.startswith("meta_"):
            continue
        order = ", ".join(primary_key(table))
        sql = f"SELECT * FROM {table} ORDER BY {order}"
        if _raw(start._conn, sql) == _raw(end._conn, sql):
            continue  # fast path: identical tables (compared as raw rows)
        a, b = start.table(table), end.table(table)
        d = TableDiff(
            added=[b[k] for k in b if k not in a],
            removed=[a[k] for k in a if k not in b],
            changed=[(a[k], b[k]) for k in b if k in a and changed_columns(a[k], b[k])],
        )
        if d:
            out[table] = d
    return out
