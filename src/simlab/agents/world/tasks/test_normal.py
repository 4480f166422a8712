"""Test-normal scenarios: the training apps in templates and combinations not seen in train."""

from __future__ import annotations

from simlab.agents.world.tasks.base import Added, Changed, Removed, Scenario, login, pages
from simlab.agents.world.tasks.train import NAME, SONG_Q, full, payment


class OldestRelative(Scenario):
    name, split, apps = "tn_oldest_relative", "test_normal", ("phone",)

    def sample(self, r, w):
        return {"rel": r.choice(["sibling", "parent", "roommate"])}

    def instruction(self, p):
        return f"Which of my {p['rel']}s is the oldest? Answer with their full name."

    def solution(self, p):
        call = f"apis.phone.search_contacts(access_token=phone_token, relationship='{p['rel']}')"
        return (
            login("phone")
            + pages("people", call)
            + "old = min(people, key=lambda c: c['birthday'])\n"
            "apis.supervisor.complete_task(answer=old['first_name'] + ' ' + old['last_name'])\n"
        )

    def answer(self, s, p):
        return s.scalar(
            f"SELECT {NAME} FROM phone_contacts WHERE relationship = ? ORDER BY birthday LIMIT 1",
            p["rel"],
        )


class DeleteContact(Scenario):
    name, split, apps = "tn_delete_contact", "test_normal", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts ORDER BY id"))
        return {"name": full(c), "id": c["id"]}

    def instruction(self, p):
        return f"Remove {p['name']} from my phone contacts."

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.phone.delete_contact(access_token=phone_token, contact_id=c['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Removed("phone_contacts", id=p["id"])]


class SpentOnDescription(Scenario):
    name, split, apps, answer_kind = "tn_spent_on", "test_normal", ("wallet",), "money"

    def sample(self, r, w):
        d = r.choice(
            w.rows(
                "SELECT DISTINCT description FROM wallet_transactions WHERE sender_id = 1 "
                "ORDER BY description"
            )
        )
        return {"desc": d["description"]}

    def instruction(self, p):
        return (
            f"How much have I paid in total on wallet for transactions described as '{p['desc']}'?"
        )

    def solution(self, p):
        call = "apis.wallet.show_transactions(access_token=wallet_token, direction='sent')"
        return (
            login("wallet")
            + pages("txns", call)
            + f"total = sum(t['amount'] for t in txns if t['description'] == '{p['desc']}')\n"
            "apis.supervisor.complete_task(answer=round(total, 2))\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT ROUND(SUM(amount), 2) FROM wallet_transactions "
            "WHERE sender_id = 1 AND description = ?",
            p["desc"],
        )


class ApproveRequest(Scenario):
    name, split, apps = "tn_approve_request", "test_normal", ("wallet",)

    def sample(self, r, w):
        u = r.choice(w.rows("SELECT * FROM wallet_users WHERE id > 1 ORDER BY id"))
        return {
            "name": full(u),
            "id": u["id"],
            "amount": float(r.randrange(10, 90)),
            "desc": r.choice(["theatre", "gas bill", "picnic"]),
        }

    def setup(self, conn, p):
        now = conn.execute("SELECT now FROM meta_clock").fetchone()[0]
        conn.execute(
            "INSERT INTO wallet_requests (requester_id, payer_id, amount, description, status, "
            "reminders, created_at, updated_at) VALUES (?, 1, ?, ?, 'pending', 0, ?, ?)",
            (p["id"], p["amount"], p["desc"], now, now),
        )

    def instruction(self, p):
        return f"Pay the pending wallet payment request that {p['name']} sent me."

    def solution(self, p):
        call = (
            "apis.wallet.show_received_payment_requests(access_token=wallet_token, "
            "status='pending')"
        )
        return (
            login("wallet")
            + f"u = apis.wallet.search_users(access_token=wallet_token, query='{p['name']}')[0]\n"
            + pages("reqs", call)
            + "q = [q for q in reqs if q['requester_id'] == u['id']][0]\n"
            "apis.wallet.approve_payment_request(access_token=wallet_token, "
            "payment_request_id=q['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rid = s.scalar(
            "SELECT id FROM wallet_requests WHERE requester_id = ? AND payer_id = 1 AND "
            "status = 'pending' ORDER BY id DESC",
            p["id"],
        )
        return [
            *payment(s, p["id"], p["amount"], p["desc"]),
            Changed("wallet_requests", {"id": rid}, {"status": "paid"}),
        ]


class RenameTodo(Scenario):
    name, split, apps = "tn_rename_todo", "test_normal", ("notes",)

    def sample(self, r, w):
        t = r.choice(w.rows("SELECT * FROM notes_todos ORDER BY id"))
        return {"old": t["title"], "id": t["id"], "new": t["title"] + " (urgent)"}

    def instruction(self, p):
        return f"Rename my to-do item '{p['old']}' to '{p['new']}'."

    def solution(self, p):
        return (
            login("notes")
            + pages("items", "apis.notes.show_todo_items(access_token=notes_token)")
            + f"t = [t for t in items if t['title'] == '{p['old']}'][0]\n"
            "apis.notes.update_todo_item(access_token=notes_token, todo_id=t['id'], "
            f"title='{p['new']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Changed("notes_todos", {"id": p["id"]}, {"title": p["new"]})]


class NoteFromTodos(Scenario):
    name, split, apps = "tn_note_from_todos", "test_normal", ("notes",)

    def sample(self, r, w):
        return {"list": r.choice(["groceries", "home", "work", "errands"])}

    def instruction(self, p):
        return (
            f"Create a note titled '{p['list'].title()} open items' whose body lists the titles "
            f"of my open {p['list']} to-do items, one per line, in the order show_todo_items "
            "returns them."
        )

    def solution(self, p):
        call = (
            f"apis.notes.show_todo_items(access_token=notes_token, list_name='{p['list']}', "
            "is_done=False)"
        )
        return (
            login("notes")
            + pages("items", call)
            + "apis.notes.create_note(access_token=notes_token, "
            f"title='{p['list'].title()} open items', "
            "body='\\n'.join(t['title'] for t in items))\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT title FROM notes_todos WHERE list_name = ? AND is_done = 0 "
            "ORDER BY due_date IS NULL, due_date, id",
            p["list"],
        )
        body = "\n".join(t["title"] for t in rows)
        return [Added("notes_notes", title=f"{p['list'].title()} open items", body=body)]


class UnlikeGenre(Scenario):
    name, split, apps = "tn_unlike_genre", "test_normal", ("music",)

    def sample(self, r, w):
        g = r.choice(
            w.rows(
                "SELECT DISTINCT genre FROM music_songs WHERE id IN "
                "(SELECT song_id FROM music_liked_songs) ORDER BY genre"
            )
        )
        return {"genre": g["genre"]}

    def instruction(self, p):
        return f"Unlike all the {p['genre']} songs I have liked on music."

    def solution(self, p):
        return (
            login("music")
            + pages("liked", "apis.music.show_liked_songs(access_token=music_token)")
            + "for s in liked:\n"
            f"    if s['genre'] == '{p['genre']}':\n"
            "        apis.music.unlike_song(access_token=music_token, song_id=s['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT l.song_id FROM music_liked_songs l JOIN music_songs s ON s.id = l.song_id "
            "WHERE s.genre = ?",
            p["genre"],
        )
        return [Removed("music_liked_songs", song_id=x["song_id"]) for x in rows]


class LikedByArtistPlaylist(Scenario):
    name, split, apps = "tn_liked_artist_playlist", "test_normal", ("music",)

    def sample(self, r, w):
        a = r.choice(
            w.rows(SONG_Q + " WHERE s.id IN (SELECT song_id FROM music_liked_songs) ORDER BY s.id")
        )
        return {
            "artist": a["artist"],
            "artist_id": a["artist_id"],
            "playlist": f"Best of {a['artist']}",
        }

    def instruction(self, p):
        return (
            f"Create a playlist called '{p['playlist']}' containing every song by {p['artist']} "
            "that I have liked."
        )

    def solution(self, p):
        return (
            login("music")
            + pages("liked", "apis.music.show_liked_songs(access_token=music_token)")
            + "pid = apis.music.create_playlist(access_token=music_token, "
            f"title='{p['playlist']}')['playlist_id']\n"
            "for s in liked:\n"
            f"    if s['artist_name'] == '{p['artist']}':\n"
            "        apis.music.add_song_to_playlist(access_token=music_token, playlist_id=pid, "
            "song_id=s['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        new_id = (s.scalar("SELECT MAX(id) FROM music_playlists") or 0) + 1
        rows = s.rows(
            "SELECT l.song_id FROM music_liked_songs l JOIN music_songs s ON s.id = l.song_id "
            "WHERE s.artist_id = ?",
            p["artist_id"],
        )
        return [Added("music_playlists", title=p["playlist"])] + [
            Added("music_playlist_songs", playlist_id=new_id, song_id=x["song_id"]) for x in rows
        ]


class CopyFile(Scenario):
    name, split, apps = "tn_copy_file", "test_normal", ("files",)

    def sample(self, r, w):
        f = r.choice(
            w.rows("SELECT * FROM files_files WHERE path NOT LIKE '/travel/%' ORDER BY id")
        )
        return {"path": f["path"], "content": f["content"]}

    def instruction(self, p):
        return f"Copy the file {p['path']} into /travel, keeping its file name."

    def solution(self, p):
        name = p["path"].rsplit("/", 1)[1]
        return login("files") + (
            f"apis.files.copy_file(access_token=files_token, path='{p['path']}', "
            f"new_path='/travel/{name}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        name = p["path"].rsplit("/", 1)[1]
        return [Added("files_files", path=f"/travel/{name}", content=p["content"])]


class RequestFromRelationship(Scenario):
    name, split, apps = "tn_request_from_relationship", "test_normal", ("phone", "wallet")

    def sample(self, r, w):
        return {
            "rel": r.choice(["roommate", "sibling"]),
            "amount": float(r.randrange(15, 70)),
            "desc": r.choice(["internet bill", "cleaning supplies", "electricity"]),
        }

    def instruction(self, p):
        return (
            f'Request ${p["amount"]:.2f} on wallet from each of my {p["rel"]}s for "{p["desc"]}".'
        )

    def solution(self, p):
        call = f"apis.phone.search_contacts(access_token=phone_token, relationship='{p['rel']}')"
        return (
            login("phone", "wallet") + pages("people", call) + "for c in people:\n"
            "    apis.wallet.create_payment_request(access_token=wallet_token, "
            f"user_email=c['email'], amount={p['amount']}, description='{p['desc']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT u.id FROM phone_contacts c JOIN wallet_users u ON u.email = c.email "
            "WHERE c.relationship = ?",
            p["rel"],
        )
        return [
            Added(
                "wallet_requests",
                requester_id=1,
                payer_id=u["id"],
                amount=p["amount"],
                description=p["desc"],
                status="pending",
            )
            for u in rows
        ]


class DeclineReceivedPending(Scenario):
    name, split, apps = "tn_decline_received_pending", "test_normal", ("wallet",)

    def sample(self, r, w):
        ids = [q["id"] for q in w.rows("SELECT id FROM wallet_requests WHERE payer_id = 1")]
        return {"status": {str(i): r.choice(["pending", "paid", "declined"]) for i in ids}}

    def setup(self, conn, p):
        for i, status in p["status"].items():
            conn.execute("UPDATE wallet_requests SET status = ? WHERE id = ?", (status, int(i)))

    def instruction(self, p):
        return "Decline every payment request I received on wallet that is still pending."

    def solution(self, p):
        call = (
            "apis.wallet.show_received_payment_requests(access_token=wallet_token, "
            "status='pending')"
        )
        return (
            login("wallet") + pages("reqs", call) + "for q in reqs:\n"
            "    apis.wallet.decline_payment_request(access_token=wallet_token, "
            "payment_request_id=q['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows("SELECT id FROM wallet_requests WHERE payer_id = 1 AND status = 'pending'")
        return [Changed("wallet_requests", {"id": q["id"]}, {"status": "declined"}) for q in rows]


class LibraryArtistCount(Scenario):
    name, split, apps, answer_kind = (
        "tn_library_artist_count",
        "test_normal",
        ("music",),
        "number",
    )

    def sample(self, r, w):
        a = r.choice(
            w.rows(SONG_Q + " WHERE s.id IN (SELECT song_id FROM music_library) ORDER BY s.id")
        )
        return {"artist": a["artist"], "artist_id": a["artist_id"]}

    def instruction(self, p):
        return f"How many songs by {p['artist']} are in my music library?"

    def solution(self, p):
        return (
            login("music")
            + pages("lib", "apis.music.show_library(access_token=music_token)")
            + f"n = len([s for s in lib if s['artist_name'] == '{p['artist']}'])\n"
            "apis.supervisor.complete_task(answer=n)\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT COUNT(*) FROM music_library l JOIN music_songs s ON s.id = l.song_id "
            "WHERE s.artist_id = ?",
            p["artist_id"],
        )
