"""Training scenarios: phone, wallet, notes, music and files (never mail or shop)."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.db import View
from simlab.agents.world.tasks.base import Added, Changed, Removed, Scenario, login, pages

NAME = "first_name || ' ' || last_name"


def full(row: dict[str, Any]) -> str:
    return f"{row['first_name']} {row['last_name']}"


def payment(s: View, receiver_id: int, amount: float, description: str) -> list:
    """The changes of one wallet payment from the user (id 1) to ``receiver_id``."""
    me = s.scalar("SELECT balance FROM wallet_users WHERE id = 1")
    them = s.scalar("SELECT balance FROM wallet_users WHERE id = ?", receiver_id)
    return [
        Added(
            "wallet_transactions",
            sender_id=1,
            receiver_id=receiver_id,
            amount=amount,
            description=description,
        ),
        Changed("wallet_users", {"id": 1}, {"balance": round(me - amount, 2)}),
        Changed("wallet_users", {"id": receiver_id}, {"balance": round(them + amount, 2)}),
    ]


def find_user(var: str, name: str) -> str:
    """Ground truth: the wallet user with this full name (search, then exact match)."""
    return (
        f"{var} = [u for u in apis.wallet.search_users(access_token=wallet_token, "
        f"query='{name}', page_limit=20) if u['first_name'] + ' ' + u['last_name'] == "
        f"'{name}'][0]\n"
    )


# --- phone ------------------------------------------------------------------------------


class PhoneCountRelationship(Scenario):
    name, split, apps, answer_kind = "phone_count_relationship", "train", ("phone",), "number"

    def sample(self, r, w):
        return {"rel": r.choice(["friend", "coworker", "roommate", "sibling", "parent"])}

    def instruction(self, p):
        return f"How many of my phone contacts are labelled as my {p['rel']}?"

    def solution(self, p):
        call = f"apis.phone.search_contacts(access_token=phone_token, relationship='{p['rel']}')"
        return (
            login("phone")
            + pages("contacts", call)
            + ("apis.supervisor.complete_task(answer=len(contacts))\n")
        )

    def answer(self, s, p):
        return s.scalar("SELECT COUNT(*) FROM phone_contacts WHERE relationship = ?", p["rel"])


class PhoneContactCity(Scenario):
    name, split, apps = "phone_contact_city", "train", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts ORDER BY id"))
        return {"name": full(c), "id": c["id"]}

    def instruction(self, p):
        return f"Which city does my contact {p['name']} live in?"

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.supervisor.complete_task(answer=c['city'])\n"
        )

    def answer(self, s, p):
        return s.scalar("SELECT city FROM phone_contacts WHERE id = ?", p["id"])


class PhoneContactBirthday(Scenario):
    name, split, apps = "phone_contact_birthday", "train", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts WHERE relationship = 'friend'"))
        return {"name": full(c), "id": c["id"]}

    def instruction(self, p):
        return f"When was my friend {p['name']} born? Answer with the date as YYYY-MM-DD."

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.supervisor.complete_task(answer=c['birthday'])\n"
        )

    def answer(self, s, p):
        return s.scalar("SELECT birthday FROM phone_contacts WHERE id = ?", p["id"])


TEXTS = (
    "Dinner at 7 tonight?",
    "I will bring the cake.",
    "Call me when you land.",
    "Happy birthday!",
    "The meeting moved to 3 pm.",
    "Can you feed the cat tomorrow?",
)


class PhoneSendText(Scenario):
    name, split, apps = "phone_send_text", "train", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts ORDER BY id"))
        return {"name": full(c), "number": c["phone_number"], "text": r.choice(TEXTS)}

    def instruction(self, p):
        return f'Send a text message to {p["name"]} saying "{p["text"]}".'

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.phone.send_text_message(access_token=phone_token, "
            f"phone_number=c['phone_number'], body={p['text']!r})\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("phone_messages", receiver_number=p["number"], body=p["text"])]


class PhoneAddContact(Scenario):
    name, split, apps = "phone_add_contact", "train", ("phone",)

    def sample(self, r, w):
        people = w.rows(
            "SELECT * FROM supervisor_people WHERE id > 1 AND phone_number NOT IN "
            "(SELECT phone_number FROM phone_contacts) ORDER BY id"
        )
        p = r.choice(people)
        return {
            "first": p["first_name"],
            "last": p["last_name"],
            "number": p["phone_number"],
            "rel": r.choice(["friend", "coworker"]),
        }

    def instruction(self, p):
        return (
            f"Add {p['first']} {p['last']} to my phone contacts with the number {p['number']}, "
            f"as my {p['rel']}."
        )

    def solution(self, p):
        return login("phone") + (
            f"apis.phone.add_contact(access_token=phone_token, first_name='{p['first']}', "
            f"last_name='{p['last']}', phone_number='{p['number']}', relationship='{p['rel']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [
            Added(
                "phone_contacts",
                first_name=p["first"],
                last_name=p["last"],
                phone_number=p["number"],
                relationship=p["rel"],
            )
        ]


class PhoneDeleteAlarm(Scenario):
    name, split, apps = "phone_delete_alarm", "train", ("phone",)

    def sample(self, r, w):
        a = r.choice(w.rows("SELECT * FROM phone_alarms ORDER BY id"))
        return {"label": a["label"], "id": a["id"]}

    def instruction(self, p):
        return f"Delete my alarm labelled '{p['label']}'."

    def solution(self, p):
        return login("phone") + (
            "alarm = [a for a in apis.phone.show_alarms(access_token=phone_token) "
            f"if a['label'] == '{p['label']}'][0]\n"
            "apis.phone.delete_alarm(access_token=phone_token, alarm_id=alarm['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Removed("phone_alarms", id=p["id"])]


class PhoneCreateAlarm(Scenario):
    name, split, apps = "phone_create_alarm", "train", ("phone",)

    def sample(self, r, w):
        return {
            "time": f"{r.randrange(5, 11):02d}:{r.choice(['00', '15', '30', '45'])}",
            "label": r.choice(["Gym", "Call mom", "Standup", "Laundry", "Pills"]),
            "day": r.choice(["monday", "wednesday", "friday", "sunday"]),
        }

    def instruction(self, p):
        return (
            f"Set an alarm at {p['time']} labelled '{p['label']}' that repeats every "
            f"{p['day'].title()}."
        )

    def solution(self, p):
        return login("phone") + (
            f"apis.phone.create_alarm(access_token=phone_token, time='{p['time']}', "
            f"label='{p['label']}', repeat_days=['{p['day']}'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [
            Added(
                "phone_alarms",
                time=p["time"],
                label=p["label"],
                repeat_days=p["day"],
                enabled=1,
            )
        ]


class PhoneUnreadCount(Scenario):
    name, split, apps, answer_kind = "phone_unread_count", "train", ("phone",), "number"

    def sample(self, r, w):
        me = w.scalar("SELECT phone_number FROM supervisor_people WHERE id = 1")
        incoming = w.rows("SELECT id FROM phone_messages WHERE receiver_number = ? ORDER BY id", me)
        return {"unread": sorted(m["id"] for m in r.sample(incoming, r.randrange(3, 30)))}

    def setup(self, conn, p):
        conn.execute("UPDATE phone_messages SET is_read = 1")
        conn.executemany(
            "UPDATE phone_messages SET is_read = 0 WHERE id = ?", [(i,) for i in p["unread"]]
        )

    def instruction(self, p):
        return "How many unread text messages do I have?"

    def solution(self, p):
        call = "apis.phone.search_text_messages(access_token=phone_token, only_unread=True)"
        return (
            login("phone")
            + pages("unread", call)
            + ("apis.supervisor.complete_task(answer=len(unread))\n")
        )

    def answer(self, s, p):
        me = s.scalar("SELECT phone_number FROM supervisor_people WHERE id = 1")
        return s.scalar(
            "SELECT COUNT(*) FROM phone_messages WHERE is_read = 0 AND receiver_number = ?", me
        )


class PhoneLastMessageFrom(Scenario):
    name, split, apps = "phone_last_message_from", "train", ("phone",)

    def sample(self, r, w):
        c = r.choice(
            w.rows(
                "SELECT * FROM phone_contacts WHERE phone_number IN "
                "(SELECT sender_number FROM phone_messages) ORDER BY id"
            )
        )
        return {"name": full(c), "number": c["phone_number"]}

    def instruction(self, p):
        return f"What did {p['name']} say in the last text message they sent me?"

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            + pages(
                "msgs",
                "apis.phone.search_text_messages(access_token=phone_token, "
                "phone_number=c['phone_number'])",
            )
            + "last = [m for m in msgs if m['sender_number'] == c['phone_number']][0]\n"
            "apis.supervisor.complete_task(answer=last['body'])\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT body FROM phone_messages WHERE sender_number = ? "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            p["number"],
        )


class PhoneUpdateContactCity(Scenario):
    name, split, apps = "phone_update_contact_city", "train", ("phone",)

    def sample(self, r, w):
        c = r.choice(w.rows("SELECT * FROM phone_contacts ORDER BY id"))
        city = r.choice([x for x in ("Madrid", "Nairobi", "Seoul", "Tallinn") if x != c["city"]])
        return {"name": full(c), "id": c["id"], "city": city}

    def instruction(self, p):
        return f"{p['name']} moved to {p['city']}. Update their city in my phone contacts."

    def solution(self, p):
        return login("phone") + (
            f"c = apis.phone.search_contacts(access_token=phone_token, query='{p['name']}')[0]\n"
            "apis.phone.update_contact(access_token=phone_token, contact_id=c['id'], "
            f"city='{p['city']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Changed("phone_contacts", {"id": p["id"]}, {"city": p["city"]})]


# --- wallet -----------------------------------------------------------------------------


class WalletBalance(Scenario):
    name, split, apps, answer_kind = "wallet_balance", "train", ("wallet",), "money"

    def sample(self, r, w):
        return {"balance": r.randrange(20000, 300000) / 100}

    def setup(self, conn, p):
        conn.execute("UPDATE wallet_users SET balance = ? WHERE id = 1", (p["balance"],))

    def instruction(self, p):
        return "What is my current wallet balance in dollars?"

    def solution(self, p):
        return login("wallet") + (
            "b = apis.wallet.show_balance(access_token=wallet_token)['balance']\n"
            "apis.supervisor.complete_task(answer=b)\n"
        )

    def answer(self, s, p):
        return s.scalar("SELECT balance FROM wallet_users WHERE id = 1")


class WalletPayPerson(Scenario):
    name, split, apps = "wallet_pay_person", "train", ("wallet",)

    def sample(self, r, w):
        u = r.choice(w.rows("SELECT * FROM wallet_users WHERE id > 1 ORDER BY id"))
        return {
            "name": full(u),
            "id": u["id"],
            "amount": float(r.randrange(5, 80)),
            "desc": r.choice(["pizza", "taxi", "concert", "groceries", "coffee"]),
        }

    def instruction(self, p):
        return f'Send ${p["amount"]:.2f} to {p["name"]} on wallet for "{p["desc"]}".'

    def solution(self, p):
        return (
            login("wallet")
            + find_user("u", p["name"])
            + "apis.wallet.create_transaction(access_token=wallet_token, "
            f"receiver_email=u['email'], amount={p['amount']}, description='{p['desc']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return payment(s, p["id"], p["amount"], p["desc"])


class WalletRequestMoney(Scenario):
    name, split, apps = "wallet_request_money", "train", ("wallet",)

    def sample(self, r, w):
        u = r.choice(w.rows("SELECT * FROM wallet_users WHERE id > 1 ORDER BY id"))
        return {
            "name": full(u),
            "id": u["id"],
            "amount": float(r.randrange(10, 120)),
            "desc": r.choice(["rent share", "movie tickets", "dinner", "train tickets"]),
        }

    def instruction(self, p):
        return f'Request ${p["amount"]:.2f} from {p["name"]} on wallet for "{p["desc"]}".'

    def solution(self, p):
        return (
            login("wallet")
            + find_user("u", p["name"])
            + "apis.wallet.create_payment_request(access_token=wallet_token, "
            f"user_email=u['email'], amount={p['amount']}, description='{p['desc']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [
            Added(
                "wallet_requests",
                requester_id=1,
                payer_id=p["id"],
                amount=p["amount"],
                description=p["desc"],
                status="pending",
            )
        ]


class WalletRemindPending(Scenario):
    name, split, apps = "wallet_remind_pending", "train", ("wallet",)

    def sample(self, r, w):
        ids = [q["id"] for q in w.rows("SELECT id FROM wallet_requests WHERE requester_id = 1")]
        return {"status": {str(i): r.choice(["pending", "paid", "declined"]) for i in ids}}

    def setup(self, conn, p):
        for i, status in p["status"].items():
            conn.execute("UPDATE wallet_requests SET status = ? WHERE id = ?", (status, int(i)))

    def instruction(self, p):
        return "Send a reminder for every payment request I sent that is still pending."

    def solution(self, p):
        call = "apis.wallet.show_sent_payment_requests(access_token=wallet_token, status='pending')"
        return (
            login("wallet") + pages("reqs", call) + "for q in reqs:\n"
            "    apis.wallet.remind_payment_request(access_token=wallet_token, "
            "payment_request_id=q['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows("SELECT * FROM wallet_requests WHERE requester_id = 1 AND status='pending'")
        return [
            Changed("wallet_requests", {"id": q["id"]}, {"reminders": q["reminders"] + 1})
            for q in rows
        ]


class WalletTotalSentTo(Scenario):
    name, split, apps, answer_kind = "wallet_total_sent_to", "train", ("wallet",), "money"

    def sample(self, r, w):
        u = r.choice(
            w.rows(
                "SELECT * FROM wallet_users WHERE id IN "
                "(SELECT receiver_id FROM wallet_transactions WHERE sender_id = 1) ORDER BY id"
            )
        )
        return {"name": full(u), "id": u["id"]}

    def instruction(self, p):
        return f"How much money in total have I sent to {p['name']} on wallet?"

    def solution(self, p):
        call = (
            "apis.wallet.show_transactions(access_token=wallet_token, direction='sent', "
            "user_email=u['email'])"
        )
        return (
            login("wallet")
            + find_user("u", p["name"])
            + pages("txns", call)
            + "apis.supervisor.complete_task(answer=round(sum(t['amount'] for t in txns), 2))\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT ROUND(SUM(amount), 2) FROM wallet_transactions "
            "WHERE sender_id = 1 AND receiver_id = ?",
            p["id"],
        )


class WalletLikeLatestFeed(Scenario):
    name, split, apps = "wallet_like_latest_feed", "train", ("wallet",)

    def sample(self, r, w):
        friends = w.rows(
            "SELECT friend_id FROM wallet_friends WHERE user_id = 1 ORDER BY friend_id"
        )
        return {
            "friend": r.choice(friends)["friend_id"],
            "other": r.randrange(2, 101),
            "amount": float(r.randrange(5, 90)),
            "desc": r.choice(["ski trip", "book club", "bakery", "parking"]),
        }

    def setup(self, conn, p):
        # a fresh friend payment, newer than anything else in the feed
        now = conn.execute("SELECT now FROM meta_clock").fetchone()[0]
        conn.execute(
            "INSERT INTO wallet_transactions (sender_id, receiver_id, amount, description, "
            "is_private, created_at) VALUES (?, ?, ?, ?, 0, ?)",
            (p["friend"], p["other"], p["amount"], p["desc"], now),
        )

    def instruction(self, p):
        return "Like the most recent transaction in my wallet social feed."

    def solution(self, p):
        return login("wallet") + (
            "t = apis.wallet.show_social_feed(access_token=wallet_token)[0]\n"
            "apis.wallet.like_transaction(access_token=wallet_token, transaction_id=t['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        t = s.one(
            "SELECT id FROM wallet_transactions WHERE is_private = 0 AND (sender_id IN "
            "(SELECT friend_id FROM wallet_friends WHERE user_id = 1) OR receiver_id IN "
            "(SELECT friend_id FROM wallet_friends WHERE user_id = 1)) "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        )
        return [Added("wallet_likes", transaction_id=t["id"], user_id=1)]


class WalletAddFriend(Scenario):
    name, split, apps = "wallet_add_friend", "train", ("wallet",)

    def sample(self, r, w):
        u = r.choice(
            w.rows(
                "SELECT * FROM wallet_users WHERE id > 1 AND id NOT IN "
                "(SELECT friend_id FROM wallet_friends WHERE user_id = 1) ORDER BY id"
            )
        )
        return {"name": full(u), "id": u["id"]}

    def instruction(self, p):
        return f"Add {p['name']} as a friend on wallet."

    def solution(self, p):
        return (
            login("wallet")
            + find_user("u", p["name"])
            + "apis.wallet.add_friend(access_token=wallet_token, user_email=u['email'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("wallet_friends", user_id=1, friend_id=p["id"])]


# --- notes ------------------------------------------------------------------------------


class NotesCountTag(Scenario):
    name, split, apps, answer_kind = "notes_count_tag", "train", ("notes",), "number"

    def sample(self, r, w):
        return {"tag": r.choice(["recipes", "travel", "work", "reading", "health"])}

    def instruction(self, p):
        return f"How many of my notes are tagged '{p['tag']}'?"

    def solution(self, p):
        call = f"apis.notes.search_notes(access_token=notes_token, tag='{p['tag']}')"
        return (
            login("notes")
            + pages("found", call)
            + ("apis.supervisor.complete_task(answer=len(found))\n")
        )

    def answer(self, s, p):
        return s.scalar("SELECT COUNT(*) FROM notes_notes WHERE tags = ?", p["tag"])


class NotesCreate(Scenario):
    name, split, apps = "notes_create", "train", ("notes",)

    def sample(self, r, w):
        title, body, tag = r.choice(
            [
                ("Packing list", "passport, charger, socks", "travel"),
                ("Pancakes", "flour, milk, eggs, butter", "recipes"),
                ("Project ideas", "a birdhouse and a bookshelf", "home"),
                ("Quotes", "Simple is better than complex.", "reading"),
            ]
        )
        return {"title": title, "body": body, "tag": tag}

    def instruction(self, p):
        return (
            f"Create a note titled '{p['title']}' with the text '{p['body']}', tagged '{p['tag']}'."
        )

    def solution(self, p):
        return login("notes") + (
            f"apis.notes.create_note(access_token=notes_token, title={p['title']!r}, "
            f"body={p['body']!r}, tags=[{p['tag']!r}])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("notes_notes", title=p["title"], body=p["body"], tags=p["tag"])]


class NotesAddTodo(Scenario):
    name, split, apps = "notes_add_todo", "train", ("notes",)

    def sample(self, r, w):
        lst = r.choice(["groceries", "home", "errands"])
        item = r.choice(["buy batteries", "call the plumber", "oat milk", "pay parking fine"])
        day = r.randrange(1, 25)
        return {"list": lst, "item": item, "due": f"2025-07-{day:02d}"}

    def instruction(self, p):
        return f"Add '{p['item']}' to my {p['list']} to-do list, due on {p['due']}."

    def solution(self, p):
        return login("notes") + (
            f"apis.notes.add_todo_item(access_token=notes_token, list_name='{p['list']}', "
            f"title='{p['item']}', due_date='{p['due']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [
            Added("notes_todos", list_name=p["list"], title=p["item"], due_date=p["due"], is_done=0)
        ]


class NotesCompleteTodo(Scenario):
    name, split, apps = "notes_complete_todo", "train", ("notes",)

    def sample(self, r, w):
        t = r.choice(w.rows("SELECT * FROM notes_todos WHERE is_done = 0 ORDER BY id"))
        return {"title": t["title"], "id": t["id"]}

    def instruction(self, p):
        return f"Mark my to-do item '{p['title']}' as done."

    def solution(self, p):
        call = "apis.notes.show_todo_items(access_token=notes_token, is_done=False)"
        return (
            login("notes")
            + pages("items", call)
            + f"t = [t for t in items if t['title'] == '{p['title']}'][0]\n"
            "apis.notes.complete_todo_item(access_token=notes_token, todo_id=t['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Changed("notes_todos", {"id": p["id"]}, {"is_done": 1})]


class NotesOverdueCount(Scenario):
    name, split, apps, answer_kind = "notes_overdue_count", "train", ("notes",), "number"

    def sample(self, r, w):
        return {"list": r.choice(["groceries", "home", "work", "errands"])}

    def instruction(self, p):
        return f"How many open items on my {p['list']} to-do list are overdue (due before today)?"

    def solution(self, p):
        call = (
            "apis.notes.show_todo_items(access_token=notes_token, is_done=False, "
            f"due_before=today, list_name='{p['list']}')"
        )
        return (
            login("notes")
            + "import datetime\ntoday = datetime.date.today().isoformat()\n"
            + pages("late", call)
            + "apis.supervisor.complete_task(answer=len(late))\n"
        )

    def answer(self, s, p):
        today = s.scalar("SELECT now FROM meta_clock WHERE id = 1")[:10]
        return s.scalar(
            "SELECT COUNT(*) FROM notes_todos WHERE is_done = 0 AND due_date < ? AND list_name = ?",
            today,
            p["list"],
        )


class NotesPin(Scenario):
    name, split, apps = "notes_pin", "train", ("notes",)

    def sample(self, r, w):
        n = r.choice(w.rows("SELECT * FROM notes_notes WHERE is_pinned = 0 ORDER BY id"))
        return {"title": n["title"], "id": n["id"]}

    def instruction(self, p):
        return f"Pin my note titled '{p['title']}'."

    def solution(self, p):
        return login("notes") + (
            f"hits = apis.notes.search_notes(access_token=notes_token, query={p['title']!r}, "
            "page_limit=20)\n"
            f"n = [n for n in hits if n['title'] == {p['title']!r}][0]\n"
            "apis.notes.pin_note(access_token=notes_token, note_id=n['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Changed("notes_notes", {"id": p["id"]}, {"is_pinned": 1})]


# --- music ------------------------------------------------------------------------------

SONG_Q = (
    "SELECT s.*, a.name AS artist FROM music_songs s JOIN music_artists a ON a.id = s.artist_id"
)


class MusicLikeSong(Scenario):
    name, split, apps = "music_like_song", "train", ("music",)

    def sample(self, r, w):
        s = r.choice(w.rows(SONG_Q + " WHERE s.id NOT IN (SELECT song_id FROM music_liked_songs)"))
        return {"title": s["title"], "artist": s["artist"], "id": s["id"]}

    def instruction(self, p):
        return f"Like the song '{p['title']}' by {p['artist']} on music."

    def solution(self, p):
        return login("music") + (
            f"hits = apis.music.search_songs(access_token=music_token, query='{p['title']}', "
            "page_limit=20)\n"
            f"s = [s for s in hits if s['title'] == '{p['title']}' and "
            f"s['artist_name'] == '{p['artist']}'][0]\n"
            "apis.music.like_song(access_token=music_token, song_id=s['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("music_liked_songs", song_id=p["id"])]


class MusicPlaylistWithSongs(Scenario):
    name, split, apps = "music_playlist_with_songs", "train", ("music",)

    def sample(self, r, w):
        a, b = r.sample(w.rows(SONG_Q + " ORDER BY s.id"), 2)
        return {
            "playlist": r.choice(["Dinner Party", "Rainy Day", "Workout Mix", "Late Night"]),
            "songs": [[a["title"], a["id"]], [b["title"], b["id"]]],
        }

    def instruction(self, p):
        (a, _), (b, _) = p["songs"]
        return f"Create a playlist called '{p['playlist']}' with the songs '{a}' and '{b}'."

    def solution(self, p):
        (a, _), (b, _) = p["songs"]
        return login("music") + (
            "pid = apis.music.create_playlist(access_token=music_token, "
            f"title='{p['playlist']}')['playlist_id']\n"
            f"for title in ['{a}', '{b}']:\n"
            "    hits = apis.music.search_songs(access_token=music_token, query=title, "
            "page_limit=20)\n"
            "    song = [s for s in hits if s['title'] == title][0]\n"
            "    apis.music.add_song_to_playlist(access_token=music_token, playlist_id=pid, "
            "song_id=song['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        new_id = (s.scalar("SELECT MAX(id) FROM music_playlists") or 0) + 1

        def in_new(pid: Any) -> bool:
            return pid == new_id

        return [Added("music_playlists", title=p["playlist"])] + [
            Added("music_playlist_songs", playlist_id=in_new, song_id=sid) for _, sid in p["songs"]
        ]


class MusicCountLikedGenre(Scenario):
    name, split, apps, answer_kind = "music_count_liked_genre", "train", ("music",), "number"

    def sample(self, r, w):
        g = r.choice(
            w.rows(
                "SELECT DISTINCT genre FROM music_songs WHERE id IN "
                "(SELECT song_id FROM music_liked_songs) ORDER BY genre"
            )
        )
        return {"genre": g["genre"]}

    def instruction(self, p):
        return f"How many of the songs I liked on music are {p['genre']} songs?"

    def solution(self, p):
        return (
            login("music")
            + pages("liked", "apis.music.show_liked_songs(access_token=music_token)")
            + f"n = len([s for s in liked if s['genre'] == '{p['genre']}'])\n"
            "apis.supervisor.complete_task(answer=n)\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT COUNT(*) FROM music_liked_songs l JOIN music_songs s ON s.id = l.song_id "
            "WHERE s.genre = ?",
            p["genre"],
        )


class MusicLongestInPlaylist(Scenario):
    name, split, apps = "music_longest_in_playlist", "train", ("music",)

    def sample(self, r, w):
        pl = r.choice(w.rows("SELECT * FROM music_playlists ORDER BY id"))
        return {"playlist": pl["title"], "id": pl["id"]}

    def instruction(self, p):
        return f"What is the title of the longest song in my '{p['playlist']}' playlist?"

    def solution(self, p):
        return login("music") + (
            "pls = apis.music.show_playlists(access_token=music_token, page_limit=20)\n"
            f"pl = [x for x in pls if x['title'] == '{p['playlist']}'][0]\n"
            "ids = apis.music.show_playlist(access_token=music_token, "
            "playlist_id=pl['id'])['song_ids']\n"
            "songs = [apis.music.show_song(access_token=music_token, song_id=i) for i in ids]\n"
            "best = max(songs, key=lambda s: s['duration_seconds'])\n"
            "apis.supervisor.complete_task(answer=best['title'])\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT s.title FROM music_playlist_songs x JOIN music_songs s ON s.id = x.song_id "
            "WHERE x.playlist_id = ? ORDER BY s.duration_seconds DESC LIMIT 1",
            p["id"],
        )


class MusicFollowArtistOfSong(Scenario):
    name, split, apps = "music_follow_artist_of_song", "train", ("music",)

    def sample(self, r, w):
        s = r.choice(
            w.rows(
                SONG_Q + " WHERE s.artist_id NOT IN (SELECT artist_id FROM music_followed_artists)"
            )
        )
        return {"title": s["title"], "artist_id": s["artist_id"]}

    def instruction(self, p):
        return f"Follow the artist of the song '{p['title']}' on music."

    def solution(self, p):
        return login("music") + (
            f"hits = apis.music.search_songs(access_token=music_token, query='{p['title']}', "
            "page_limit=20)\n"
            f"s = [s for s in hits if s['title'] == '{p['title']}'][0]\n"
            "apis.music.follow_artist(access_token=music_token, artist_id=s['artist_id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        f = s.scalar("SELECT followers FROM music_artists WHERE id = ?", p["artist_id"])
        return [
            Added("music_followed_artists", artist_id=p["artist_id"]),
            Changed("music_artists", {"id": p["artist_id"]}, {"followers": f + 1}),
        ]


# --- files ------------------------------------------------------------------------------


class FilesCreate(Scenario):
    name, split, apps = "files_create", "train", ("files",)

    def sample(self, r, w):
        d = r.choice(["/documents", "/work", "/travel"])
        name = r.choice(["todo.txt", "ideas.txt", "plan.txt", "contacts.txt"])
        text = r.choice(["call the bank", "book the hotel", "draft the slides"])
        return {"path": f"{d}/{name}", "text": text}

    def instruction(self, p):
        return f"Create a file at {p['path']} containing the text '{p['text']}'."

    def solution(self, p):
        return login("files") + (
            f"apis.files.create_file(access_token=files_token, path='{p['path']}', "
            f"content='{p['text']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("files_files", path=p["path"], content=p["text"])]


class FilesMove(Scenario):
    name, split, apps = "files_move", "train", ("files",)

    def sample(self, r, w):
        f = r.choice(
            w.rows(
                "SELECT * FROM files_files WHERE path LIKE '/documents/%' OR path LIKE '/travel/%' "
                "ORDER BY id"
            )
        )
        return {"path": f["path"], "id": f["id"], "dest": "/work"}

    def instruction(self, p):
        name = p["path"].rsplit("/", 1)[1]
        return f"Move the file {p['path']} into the {p['dest']} directory, keeping its name {name}."

    def solution(self, p):
        name = p["path"].rsplit("/", 1)[1]
        return login("files") + (
            f"apis.files.move_file(access_token=files_token, path='{p['path']}', "
            f"new_path='{p['dest']}/{name}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        name = p["path"].rsplit("/", 1)[1]
        return [Changed("files_files", {"id": p["id"]}, {"path": f"{p['dest']}/{name}"})]


class FilesCountDir(Scenario):
    name, split, apps, answer_kind = "files_count_dir", "train", ("files",), "number"

    def sample(self, r, w):
        return {"dir": r.choice(["/documents", "/receipts", "/travel", "/work", "/photos"])}

    def instruction(self, p):
        return f"How many files (not directories) are directly inside {p['dir']}?"

    def solution(self, p):
        call = f"apis.files.list_directory(access_token=files_token, path='{p['dir']}')"
        return (
            login("files")
            + pages("entries", call)
            + "apis.supervisor.complete_task(answer=len([e for e in entries "
            "if e['kind'] == 'file']))\n"
        )

    def answer(self, s, p):
        rows = s.rows("SELECT path FROM files_files WHERE path LIKE ?", p["dir"] + "/%")
        return sum("/" not in r["path"][len(p["dir"]) + 1 :] for r in rows)


class FilesDeleteFile(Scenario):
    name, split, apps = "files_delete_file", "train", ("files",)

    def sample(self, r, w):
        f = r.choice(w.rows("SELECT * FROM files_files ORDER BY id"))
        return {"path": f["path"], "id": f["id"]}

    def instruction(self, p):
        return f"Delete the file {p['path']} from my drive."

    def solution(self, p):
        return login("files") + (
            f"apis.files.delete_file(access_token=files_token, path='{p['path']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Removed("files_files", id=p["id"])]


class FilesAppendToFile(Scenario):
    name, split, apps = "files_append_line", "train", ("files",)

    def sample(self, r, w):
        f = r.choice(w.rows("SELECT * FROM files_files WHERE path LIKE '%.txt' ORDER BY id"))
        return {"path": f["path"], "id": f["id"], "text": r.choice(["checked", "see also page 4"])}

    def instruction(self, p):
        return f"Add the line '{p['text']}' at the end of the file {p['path']}."

    def solution(self, p):
        return login("files") + (
            f"apis.files.append_to_file(access_token=files_token, path='{p['path']}', "
            f"text='{p['text']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        old = s.scalar("SELECT content FROM files_files WHERE id = ?", p["id"])
        new = f"{old}\n{p['text']}" if old else p["text"]
        return [Changed("files_files", {"id": p["id"]}, {"content": new})]
