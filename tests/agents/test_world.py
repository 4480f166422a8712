"""The API world: seeded generation, the API contract (validation, auth, pagination,
transactions, clock) and the generated documentation."""

import hashlib
import os
import sys

import pytest

from simlab.agents.world import db
from simlab.agents.world.api import ApiError, Backend, specs_of
from simlab.agents.world.apps import APP_CLASSES
from simlab.agents.world.generate import World


@pytest.fixture()
def backend():
    return Backend(World.generate(0).copy(), 0)


def passwords(b):
    return {
        a["account_name"]: a["password"] for a in b.call("supervisor", "show_account_passwords", {})
    }


def token(b, app):
    user = b.user["phone_number"] if app == "phone" else b.user["email"]
    return b.call(app, "login", {"username": user, "password": passwords(b)[app]})["access_token"]


def test_import_is_light():
    import subprocess

    code = "import simlab.agents, simlab.agents.env, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_same_seed_same_dump_in_another_process_and_different_seed_differs():
    import subprocess

    code = (
        "import hashlib; from simlab.agents.world import db; "
        "from simlab.agents.world.generate import World; "
        "print(hashlib.sha256(db.dump(World.generate(0).conn).encode()).hexdigest())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    here = hashlib.sha256(db.dump(World.generate(0).conn).encode()).hexdigest()
    assert other.stdout.strip() == here, other.stderr
    assert db.dump(World.generate(1).conn) != db.dump(World.generate(0).conn)


def test_scale_apps_apis_people():
    assert len(APP_CLASSES) >= 9
    names = [c.name for c in APP_CLASSES]
    assert {"supervisor", "api_docs"} <= set(names)
    n_apis = sum(len(specs_of(n)) for n in names)
    assert n_apis > 120
    w = World.generate(0)
    assert w.conn.execute("SELECT COUNT(*) FROM supervisor_people").fetchone()[0] == 100
    # every content timestamp lies before the frozen now
    for table, cols in db.SCHEMA.items():
        for col in [c.split()[0] for c in cols.split(", ") if c.split()[0].endswith("_at")]:
            late = w.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {col} > ?", (w.now,))
            assert late.fetchone()[0] == 0, (table, col)


def test_login_tokens_are_scoped_and_required(backend):
    t_phone = token(backend, "phone")
    assert t_phone == token(backend, "phone")  # deterministic
    with pytest.raises(ApiError, match="401 invalid username or password"):
        backend.call("notes", "login", {"username": backend.user["email"], "password": "nope"})
    with pytest.raises(ApiError, match="missing required parameter 'access_token'"):
        backend.call("notes", "search_notes", {})
    with pytest.raises(ApiError, match="belongs to app 'phone', not 'notes'"):
        backend.call("notes", "search_notes", {"access_token": t_phone})
    with pytest.raises(ApiError, match="401 access_token is invalid"):
        backend.call("notes", "search_notes", {"access_token": "0" * 32})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_limit": 50}, "422 page_limit must be between 1 and 20, got 50"),
        ({"page_index": -1}, "422 page_index must be at least 0, got -1"),
        ({"page_limit": "5"}, "422 page_limit must be of type int, got str"),
        ({"page_limit": True}, "422 page_limit must be of type int, got bool"),
        ({"relationship": "boss"}, "422 relationship must be one of"),
        ({"colour": "red"}, "422 unknown parameter 'colour' for phone.search_contacts"),
    ],
)
def test_validation_errors_name_the_parameter(backend, kwargs, message):
    t = token(backend, "phone")
    with pytest.raises(ApiError) as e:
        backend.call("phone", "search_contacts", {"access_token": t, **kwargs})
    assert str(e.value).startswith(message)


def test_more_validation(backend):
    t = token(backend, "notes")
    with pytest.raises(ApiError, match="due_date must be an ISO date YYYY-MM-DD, got '5 May'"):
        backend.call(
            "notes",
            "add_todo_item",
            {"access_token": t, "list_name": "x", "title": "y", "due_date": "5 May"},
        )
    with pytest.raises(ApiError, match="404 no note with id 9999"):
        backend.call("notes", "show_note", {"access_token": t, "note_id": 9999})
    w = token(backend, "wallet")
    # int is coerced to float, a string is not
    with pytest.raises(ApiError, match="amount must be of type float, got str"):
        backend.call(
            "wallet",
            "create_transaction",
            {"access_token": w, "receiver_email": "a@b", "amount": "5", "description": "x"},
        )
    with pytest.raises(ApiError, match="404 no app named 'bank'"):
        backend.call("bank", "login", {})
    with pytest.raises(ApiError, match="has no API 'fly'"):
        backend.call("phone", "fly", {})


def test_pagination(backend):
    t = token(backend, "phone")
    all_ = [
        c for c in backend.call("phone", "search_contacts", {"access_token": t, "page_limit": 20})
    ]
    default = backend.call("phone", "search_contacts", {"access_token": t})
    assert len(default) == 5 and default == all_[:5]
    pages, i = [], 0
    while batch := backend.call(
        "phone", "search_contacts", {"access_token": t, "page_index": i, "page_limit": 7}
    ):
        pages += batch
        i += 1
    n = backend.conn.execute("SELECT COUNT(*) FROM phone_contacts").fetchone()[0]
    assert len(pages) == n and [c["id"] for c in pages] == sorted(c["id"] for c in pages)
    assert backend.call("phone", "search_contacts", {"access_token": t, "page_index": 99}) == []


def test_failed_mutation_changes_nothing_and_writes_advance_clock(backend):
    w = token(backend, "wallet")
    before = db.dump(backend.conn)
    friend = backend.conn.execute("SELECT email FROM wallet_users WHERE id = 2").fetchone()[0]
    with pytest.raises(ApiError, match="400 insufficient balance"):
        backend.call(
            "wallet",
            "create_transaction",
            {"access_token": w, "receiver_email": friend, "amount": 9999.0, "description": "car"},
        )
    assert db.dump(backend.conn) == before
    now0 = backend.now()
    r = backend.call(
        "wallet",
        "create_transaction",
        {"access_token": w, "receiver_email": friend, "amount": 5, "description": "tea"},
    )
    row = backend.conn.execute(
        "SELECT * FROM wallet_transactions WHERE id = ?", (r["transaction_id"],)
    ).fetchone()
    assert row["created_at"] == now0 and row["amount"] == 5.0
    assert backend.now() > now0  # one second later
    assert backend.call("wallet", "show_balance", {"access_token": w})["balance"] == 1495.0


def test_returned_values_are_copies(backend):
    t = token(backend, "music")
    a = backend.call("music", "show_song", {"access_token": t, "song_id": 1})
    a["title"] = "changed"
    assert (
        backend.call("music", "show_song", {"access_token": t, "song_id": 1})["title"] != "changed"
    )


def test_api_docs_cover_every_api(backend):
    apps = backend.call("api_docs", "show_app_descriptions", {})
    assert [a["name"] for a in apps] == [c.name for c in APP_CLASSES]
    for a in apps:
        names = [
            x["name"]
            for x in backend.call("api_docs", "show_api_descriptions", {"app_name": a["name"]})
        ]
        assert names == list(specs_of(a["name"]))
        for n in names:
            doc = backend.call("api_docs", "show_api_doc", {"app_name": a["name"], "api_name": n})
            assert doc["description"] and doc["path"] == f"/{a['name']}/{n}"
            assert all(p["description"] for p in doc["parameters"])
    with pytest.raises(ApiError, match="APIs: login, show_account"):
        backend.call("api_docs", "show_api_doc", {"app_name": "phone", "api_name": "nope"})
    hits = backend.call("api_docs", "search_api_docs", {"query": "send text"})
    assert {
        "app_name": "phone",
        "api_name": "send_text_message",
        "description": "Send a text message.",
    } in hits


def test_complete_task_ends_the_episode(backend):
    backend.conn.execute("INSERT INTO meta_task (id, completed) VALUES (1, 0)")
    backend.call("supervisor", "complete_task", {"answer": [1, "a"]})
    assert backend.completed
    with pytest.raises(ApiError, match="409 the task is already completed"):
        backend.call("supervisor", "show_profile", {})


def test_files_paths_and_string_cap(backend):
    t = token(backend, "files")
    for bad in ("documents/a.txt", "/documents/../etc/passwd", "/a//b"):
        with pytest.raises(ApiError, match="must be an absolute path"):
            backend.call("files", "show_file", {"access_token": t, "path": bad})
    with pytest.raises(ApiError, match="404 no directory /nowhere"):
        backend.call("files", "create_file", {"access_token": t, "path": "/nowhere/a.txt"})
    n = token(backend, "notes")
    with pytest.raises(ApiError, match="body must be at most 100000 characters"):
        backend.call(
            "notes", "create_note", {"access_token": n, "title": "x", "body": "y" * 100_001}
        )


def test_storage_quota_protects_the_parent(backend, monkeypatch):
    from simlab.agents.world import api

    t = token(backend, "notes")
    size = backend._state_bytes()
    monkeypatch.setattr(api, "MAX_STATE_BYTES", size + 200_000)
    before = backend.conn.execute("SELECT COUNT(*) FROM notes_notes").fetchone()[0]
    with pytest.raises(ApiError, match="507 storage quota"):
        for _ in range(10):
            backend.call(
                "notes", "create_note", {"access_token": t, "title": "x", "body": "y" * 90_000}
            )
    after = backend.conn.execute("SELECT COUNT(*) FROM notes_notes").fetchone()[0]
    assert before < after < before + 10  # the call that crossed the quota was rolled back
