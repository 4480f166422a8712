"""Development scenarios: the training apps, new templates and two-app combinations."""

from __future__ import annotations

from simlab.agents.world.tasks.base import Added, Changed, Removed, Scenario, login, pages
from simlab.agents.world.tasks.train import SONG_Q, full, payment


class DevTextAllRelationship(Scenario):
    name, split, apps = "dev_text_all_relationship", "dev", ("phone",)

    def sample(self, r, w):
        return {
            "rel": r.choice(["roommate", "sibling", "parent"]),
            "text": r.choice(["Home by 8.", "Family dinner on Sunday?", "Who took my umbrella?"]),
        }

    def instruction(self, p):
        return f'Text each of my {p["rel"]}s the message "{p["text"]}".'

    def solution(self, p):
        call = f"apis.phone.search_contacts(access_token=phone_token, relationship='{p['rel']}')"
        return (
            login("phone") + pages("people", call) + "for c in people:\n"
            "    apis.phone.send_text_message(access_token=phone_token, "
            f"phone_number=c['phone_number'], body={p['text']!r})\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows("SELECT phone_number FROM phone_contacts WHERE relationship = ?", p["rel"])
        return [
            Added("phone_messages", receiver_number=c["phone_number"], body=p["text"]) for c in rows
        ]


class DevPayRelationship(Scenario):
    name, split, apps = "dev_pay_relationship", "dev", ("phone", "wallet")

    def sample(self, r, w):
        return {
            "rel": r.choice(["partner", "manager"]),
            "amount": float(r.randrange(10, 60)),
            "desc": r.choice(["flowers", "lunch", "parking"]),
        }

    def instruction(self, p):
        return f'Send my {p["rel"]} ${p["amount"]:.2f} on wallet for "{p["desc"]}".'

    def solution(self, p):
        return login("phone", "wallet") + (
            "c = apis.phone.search_contacts(access_token=phone_token, "
            f"relationship='{p['rel']}')[0]\n"
            "apis.wallet.create_transaction(access_token=wallet_token, receiver_email=c['email'], "
            f"amount={p['amount']}, description='{p['desc']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        email = s.scalar("SELECT email FROM phone_contacts WHERE relationship = ?", p["rel"])
        uid = s.scalar("SELECT id FROM wallet_users WHERE email = ?", email)
        return payment(s, uid, p["amount"], p["desc"])


class DevDeleteDoneTodos(Scenario):
    name, split, apps = "dev_delete_done_todos", "dev", ("notes",)

    def sample(self, r, w):
        return {"list": r.choice(["groceries", "home", "work", "errands"])}

    def instruction(self, p):
        return f"Delete every completed item from my {p['list']} to-do list."

    def solution(self, p):
        call = (
            f"apis.notes.show_todo_items(access_token=notes_token, list_name='{p['list']}', "
            "is_done=True)"
        )
        return (
            login("notes") + pages("done", call) + "for t in done:\n"
            "    apis.notes.delete_todo_item(access_token=notes_token, todo_id=t['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def setup(self, conn, p):
        # at least two completed items on the list
        conn.execute(
            "UPDATE notes_todos SET is_done = 1, completed_at = created_at WHERE id IN "
            "(SELECT id FROM notes_todos WHERE list_name = ? ORDER BY id LIMIT 2)",
            (p["list"],),
        )

    def expect(self, s, p):
        rows = s.rows("SELECT id FROM notes_todos WHERE list_name = ? AND is_done = 1", p["list"])
        return [Removed("notes_todos", id=t["id"]) for t in rows]


class DevDownloadPlaylist(Scenario):
    name, split, apps = "dev_download_playlist", "dev", ("music",)

    def sample(self, r, w):
        pl = r.choice(w.rows("SELECT * FROM music_playlists ORDER BY id"))
        return {"playlist": pl["title"], "id": pl["id"]}

    def instruction(self, p):
        return f"Download every song of my '{p['playlist']}' playlist that is not downloaded yet."

    def solution(self, p):
        return (
            login("music")
            + "pls = apis.music.show_playlists(access_token=music_token, page_limit=20)\n"
            f"pl = [x for x in pls if x['title'] == '{p['playlist']}'][0]\n"
            "ids = apis.music.show_playlist(access_token=music_token, "
            "playlist_id=pl['id'])['song_ids']\n"
            + pages("have", "apis.music.show_downloaded_songs(access_token=music_token)")
            + "have_ids = {s['id'] for s in have}\n"
            "for i in ids:\n"
            "    if i not in have_ids:\n"
            "        apis.music.download_song(access_token=music_token, song_id=i)\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT song_id FROM music_playlist_songs WHERE playlist_id = ? AND song_id NOT IN "
            "(SELECT song_id FROM music_downloads)",
            p["id"],
        )
        return [Added("music_downloads", song_id=x["song_id"]) for x in rows]


class DevDeleteFilesInDir(Scenario):
    name, split, apps = "dev_delete_files_in_dir", "dev", ("files",)

    def sample(self, r, w):
        return {"dir": r.choice(["/photos", "/receipts", "/travel"])}

    def instruction(self, p):
        return f"Delete every file directly inside {p['dir']}, but keep the directory."

    def solution(self, p):
        call = f"apis.files.list_directory(access_token=files_token, path='{p['dir']}')"
        return (
            login("files") + pages("entries", call) + "for e in entries:\n"
            "    if e['kind'] == 'file':\n"
            "        apis.files.delete_file(access_token=files_token, path=e['path'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows("SELECT id, path FROM files_files WHERE path LIKE ?", p["dir"] + "/%")
        return [
            Removed("files_files", id=f["id"])
            for f in rows
            if "/" not in f["path"][len(p["dir"]) + 1 :]
        ]


class DevCountReceivedFrom(Scenario):
    name, split, apps, answer_kind = "dev_count_received_from", "dev", ("wallet",), "number"

    def sample(self, r, w):
        u = r.choice(
            w.rows(
                "SELECT * FROM wallet_users WHERE id IN "
                "(SELECT sender_id FROM wallet_transactions WHERE receiver_id = 1) ORDER BY id"
            )
        )
        return {"name": full(u), "id": u["id"]}

    def instruction(self, p):
        return f"How many payments have I received from {p['name']} on wallet?"

    def solution(self, p):
        call = (
            "apis.wallet.show_transactions(access_token=wallet_token, direction='received', "
            "user_email=u['email'])"
        )
        return (
            login("wallet")
            + f"u = apis.wallet.search_users(access_token=wallet_token, query='{p['name']}')[0]\n"
            + pages("txns", call)
            + "apis.supervisor.complete_task(answer=len(txns))\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT COUNT(*) FROM wallet_transactions WHERE receiver_id = 1 AND sender_id = ?",
            p["id"],
        )


class DevNoteTag(Scenario):
    name, split, apps = "dev_note_tag", "dev", ("notes",)

    def sample(self, r, w):
        n = r.choice(w.rows("SELECT * FROM notes_notes ORDER BY id"))
        return {"title": n["title"], "id": n["id"]}

    def instruction(self, p):
        return f"What tag does my note titled '{p['title']}' have?"

    def solution(self, p):
        return login("notes") + (
            f"hits = apis.notes.search_notes(access_token=notes_token, query={p['title']!r}, "
            "page_limit=20)\n"
            f"n = [n for n in hits if n['title'] == {p['title']!r}][0]\n"
            "apis.supervisor.complete_task(answer=n['tags'][0])\n"
        )

    def answer(self, s, p):
        return s.scalar("SELECT tags FROM notes_notes WHERE id = ?", p["id"])


class DevAlbumYear(Scenario):
    name, split, apps, answer_kind = "dev_album_year", "dev", ("music",), "number"

    def sample(self, r, w):
        s = r.choice(w.rows(SONG_Q + " ORDER BY s.id"))
        return {"title": s["title"], "album_id": s["album_id"]}

    def instruction(self, p):
        return f"In which year was the album containing the song '{p['title']}' released?"

    def solution(self, p):
        return login("music") + (
            f"hits = apis.music.search_songs(access_token=music_token, query='{p['title']}', "
            "page_limit=20)\n"
            f"s = [s for s in hits if s['title'] == '{p['title']}'][0]\n"
            "a = apis.music.show_album(access_token=music_token, album_id=s['album_id'])\n"
            "apis.supervisor.complete_task(answer=a['release_year'])\n"
        )

    def answer(self, s, p):
        return s.scalar("SELECT release_year FROM music_albums WHERE id = ?", p["album_id"])


class DevRenameContactRelationship(Scenario):
    name, split, apps = "dev_relabel_contact", "dev", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts WHERE relationship = 'coworker'"))
        return {"name": full(c), "id": c["id"]}

    def instruction(self, p):
        return f"{p['name']} is now my friend rather than my coworker; update my contacts."

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.phone.update_contact(access_token=phone_token, contact_id=c['id'], "
            "relationship='friend')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Changed("phone_contacts", {"id": p["id"]}, {"relationship": "friend"})]
