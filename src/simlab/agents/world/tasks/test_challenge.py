"""Test-challenge scenarios: they all need ``mail`` or ``shop``, apps never required in train,
often with a second app, and lean to higher difficulty."""

from __future__ import annotations

import re

from simlab.agents.world.tasks.base import Added, Changed, Removed, Scenario, login, pages
from simlab.agents.world.tasks.train import full

ME_EMAIL = "SELECT email FROM supervisor_people WHERE id = 1"


class UnreadInbox(Scenario):
    name, split, apps, answer_kind = "ch_unread_inbox", "test_challenge", ("mail",), "number"

    def sample(self, r, w):
        ids = [e["id"] for e in w.rows("SELECT id FROM mail_emails WHERE folder = 'inbox'")]
        return {"unread": sorted(r.sample(ids, r.randrange(4, 30)))}

    def setup(self, conn, p):
        conn.execute("UPDATE mail_emails SET is_read = 1")
        conn.executemany(
            "UPDATE mail_emails SET is_read = 0 WHERE id = ?", [(i,) for i in p["unread"]]
        )

    def instruction(self, p):
        return "How many unread e-mails are in my inbox?"

    def solution(self, p):
        call = "apis.mail.search_emails(access_token=mail_token, folder='inbox', is_read=False)"
        return (
            login("mail")
            + pages("unread", call)
            + ("apis.supervisor.complete_task(answer=len(unread))\n")
        )

    def answer(self, s, p):
        return s.scalar("SELECT COUNT(*) FROM mail_emails WHERE folder='inbox' AND is_read=0")


class ReplyLatest(Scenario):
    name, split, apps = "ch_reply_latest", "test_challenge", ("mail",)

    def sample(self, r, w):
        e = r.choice(
            w.rows("SELECT DISTINCT sender FROM mail_emails WHERE folder = 'inbox' ORDER BY sender")
        )
        return {
            "sender": e["sender"],
            "text": r.choice(
                ["Thanks, got it!", "Sounds good to me.", "I will get back to you tomorrow."]
            ),
        }

    def instruction(self, p):
        return f'Reply "{p["text"]}" to the most recent e-mail in my inbox from {p["sender"]}.'

    def solution(self, p):
        return login("mail") + (
            "e = apis.mail.search_emails(access_token=mail_token, folder='inbox', "
            f"sender='{p['sender']}')[0]\n"
            f"apis.mail.reply_to_email(access_token=mail_token, email_id=e['id'], "
            f"body={p['text']!r})\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        e = s.one(
            "SELECT * FROM mail_emails WHERE folder = 'inbox' AND sender = ? "
            "ORDER BY sent_at DESC, id DESC LIMIT 1",
            p["sender"],
        )
        return [
            Added(
                "mail_emails",
                thread_id=e["thread_id"],
                recipients=p["sender"],
                body=p["text"],
                folder="sent",
            )
        ]


class ForwardToRelationship(Scenario):
    name, split, apps = "ch_forward_to_relationship", "test_challenge", ("mail", "phone")

    def sample(self, r, w):
        e = r.choice(
            w.rows(
                "SELECT * FROM mail_emails WHERE subject LIKE 'Trip%' OR subject LIKE "
                "'Photos%' ORDER BY id"
            )
        )
        return {
            "id": e["id"],
            "subject": e["subject"],
            "sent_at": e["sent_at"],
            "rel": r.choice(["partner", "manager"]),
        }

    def instruction(self, p):
        return (
            f"Forward the e-mail with subject '{p['subject']}' received at {p['sent_at']} "
            f"to my {p['rel']}."
        )

    def solution(self, p):
        call = f"apis.mail.search_emails(access_token=mail_token, query='{p['subject']}')"
        return (
            login("phone", "mail") + f"c = apis.phone.search_contacts(access_token=phone_token, "
            f"relationship='{p['rel']}')[0]\n"
            + pages("hits", call)
            + f"e = [e for e in hits if e['sent_at'] == '{p['sent_at']}'][0]\n"
            "apis.mail.forward_email(access_token=mail_token, email_id=e['id'], "
            "recipients=[c['email']])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        email = s.scalar("SELECT email FROM phone_contacts WHERE relationship = ?", p["rel"])
        subject = f"Fwd: {p['subject']}"
        return [Added("mail_emails", recipients=email, subject=subject, folder="sent")]


class ArchiveFromSender(Scenario):
    name, split, apps = "ch_archive_from_sender", "test_challenge", ("mail",)

    def sample(self, r, w):
        e = r.choice(
            w.rows(
                "SELECT sender FROM mail_emails WHERE folder = 'inbox' GROUP BY sender "
                "HAVING COUNT(*) >= 2 ORDER BY sender"
            )
            or w.rows(
                "SELECT DISTINCT sender FROM mail_emails WHERE folder='inbox' ORDER BY sender"
            )
        )
        return {"sender": e["sender"]}

    def instruction(self, p):
        return f"Archive every e-mail in my inbox from {p['sender']}."

    def solution(self, p):
        call = (
            f"apis.mail.search_emails(access_token=mail_token, folder='inbox', "
            f"sender='{p['sender']}')"
        )
        return (
            login("mail") + pages("found", call) + "for e in found:\n"
            "    apis.mail.archive_email(access_token=mail_token, email_id=e['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT id FROM mail_emails WHERE folder = 'inbox' AND sender = ?", p["sender"]
        )
        return [Changed("mail_emails", {"id": e["id"]}, {"folder": "archive"}) for e in rows]


class InvoiceTotal(Scenario):
    name, split, apps, answer_kind = "ch_invoice_total", "test_challenge", ("mail",), "money"

    def sample(self, r, w):
        return {"label": r.choice(["invoice", "receipt"])}

    def instruction(self, p):
        return (
            f"Add up the amounts in the attachments of all my e-mails labelled '{p['label']}'. "
            "Each attachment ends with a line 'Total: $<amount>'."
        )

    def solution(self, p):
        call = f"apis.mail.search_emails(access_token=mail_token, label='{p['label']}')"
        return (
            login("mail") + pages("found", call) + "import re\n"
            "total = 0.0\n"
            "for e in found:\n"
            "    for a in apis.mail.show_attachments(access_token=mail_token, email_id=e['id']):\n"
            "        total += float(re.search(r'Total: \\$([0-9.]+)', a['content']).group(1))\n"
            "apis.supervisor.complete_task(answer=round(total, 2))\n"
        )

    def answer(self, s, p):
        rows = s.rows(
            "SELECT a.content FROM mail_attachments a JOIN mail_labels l ON "
            "l.email_id = a.email_id "
            "WHERE l.label = ?",
            p["label"],
        )
        return round(
            sum(float(re.search(r"Total: \$([0-9.]+)", x["content"]).group(1)) for x in rows), 2
        )


class BuyCheapest(Scenario):
    name, split, apps = "ch_buy_cheapest", "test_challenge", ("shop",)

    def sample(self, r, w):
        return {
            "category": r.choice(["books", "kitchen", "sports", "toys", "garden"]),
            "address": r.choice(["Home", "Work"]),
            "card": r.choice(["Everyday Visa", "Travel Mastercard"]),
        }

    def instruction(self, p):
        return (
            f"Buy one of the cheapest in-stock product in the {p['category']} category; ship it "
            f"to my {p['address']} address and pay with my {p['card']} card."
        )

    def solution(self, p):
        call = (
            f"apis.shop.search_products(access_token=shop_token, category='{p['category']}', "
            "sort_by='price')"
        )
        return (
            login("shop")
            + pages("items", call)
            + "item = [x for x in items if x['stock'] > 0][0]\n"
            "apis.shop.add_to_cart(access_token=shop_token, product_id=item['id'], quantity=1)\n"
            f"addr = [a for a in apis.supervisor.show_addresses() if a['name'] == "
            f"'{p['address']}'][0]\n"
            f"card = [c for c in apis.supervisor.show_payment_cards() if "
            f"c['card_name'] == '{p['card']}'][0]\n"
            "apis.shop.place_order(access_token=shop_token, address_id=addr['id'], "
            "card_id=card['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        prod = s.one(
            "SELECT * FROM shop_products WHERE category = ? AND stock > 0 ORDER BY "
            "price, id LIMIT 1",
            p["category"],
        )
        addr = s.scalar("SELECT id FROM supervisor_addresses WHERE name = ?", p["address"])
        card = s.scalar("SELECT id FROM supervisor_cards WHERE card_name = ?", p["card"])
        oid = (s.scalar("SELECT MAX(id) FROM shop_orders") or 0) + 1
        return [
            Added(
                "shop_orders",
                id=oid,
                address_id=addr,
                card_id=card,
                total=prod["price"],
                status="placed",
            ),
            Added("shop_order_items", order_id=oid, product_id=prod["id"], quantity=1),
            Changed("shop_products", {"id": prod["id"]}, {"stock": prod["stock"] - 1}),
        ]


class WishlistToCart(Scenario):
    name, split, apps = "ch_wishlist_to_cart", "test_challenge", ("shop",)

    def sample(self, r, w):
        ids = [x["id"] for x in w.rows("SELECT id FROM shop_products ORDER BY id")]
        return {"wish": sorted(r.sample(ids, r.randrange(3, 6)))}

    def setup(self, conn, p):
        now = conn.execute("SELECT now FROM meta_clock").fetchone()[0]
        conn.execute("DELETE FROM shop_wishlist")
        conn.executemany(
            "INSERT INTO shop_wishlist (product_id, added_at) VALUES (?, ?)",
            [(i, now) for i in p["wish"]],
        )

    def instruction(self, p):
        return (
            "Move every in-stock product on my shop wish list into my cart (one of each) and "
            "remove those products from the wish list. Leave out-of-stock ones on the wish list."
        )

    def solution(self, p):
        return (
            login("shop")
            + pages("wish", "apis.shop.show_wishlist(access_token=shop_token)")
            + "for x in wish:\n"
            "    if x['stock'] > 0:\n"
            "        apis.shop.add_to_cart(access_token=shop_token, product_id=x['id'])\n"
            "        apis.shop.remove_from_wishlist(access_token=shop_token, product_id=x['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT p.id FROM shop_wishlist w JOIN shop_products p ON p.id = w.product_id "
            "WHERE p.stock > 0"
        )
        out = []
        for x in rows:
            out += [
                Added("shop_cart", product_id=x["id"], quantity=1),
                Removed("shop_wishlist", product_id=x["id"]),
            ]
        return out


class LastOrderTotal(Scenario):
    name, split, apps, answer_kind = "ch_last_order_total", "test_challenge", ("shop",), "money"

    def sample(self, r, w):
        return {"status": r.choice(["delivered", "placed"])}

    def instruction(self, p):
        return f"What was the total of my most recent shop order with status '{p['status']}'?"

    def solution(self, p):
        return login("shop") + (
            f"o = apis.shop.show_orders(access_token=shop_token, status='{p['status']}')[0]\n"
            "apis.supervisor.complete_task(answer=o['total'])\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT total FROM shop_orders WHERE status = ? ORDER BY created_at "
            "DESC, id DESC LIMIT 1",
            p["status"],
        )


class ReviewOrdered(Scenario):
    name, split, apps = "ch_review_ordered", "test_challenge", ("shop",)

    def sample(self, r, w):
        x = r.choice(
            w.rows(
                "SELECT DISTINCT p.id, p.name FROM shop_order_items i JOIN shop_products p "
                "ON p.id = i.product_id ORDER BY p.id"
            )
        )
        return {
            "id": x["id"],
            "product": x["name"],
            "stars": r.randrange(1, 6),
            "text": r.choice(["Does the job.", "Would buy again.", "Broke after a week."]),
        }

    def instruction(self, p):
        return (
            f'Write a {p["stars"]}-star review saying "{p["text"]}" for the {p["product"]} '
            "I ordered."
        )

    def solution(self, p):
        return (
            login("shop")
            + pages("orders", "apis.shop.show_orders(access_token=shop_token)")
            + "pid = None\n"
            "for o in orders:\n"
            "    for it in apis.shop.show_order(access_token=shop_token, "
            "order_id=o['id'])['items']:\n"
            f"        if it['name'] == '{p['product']}':\n"
            "            pid = it['product_id']\n"
            "apis.shop.write_review(access_token=shop_token, product_id=pid, "
            f"rating={p['stars']}, body={p['text']!r})\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        me = s.one("SELECT first_name, last_name FROM supervisor_people WHERE id = 1")
        return [
            Added(
                "shop_reviews",
                product_id=p["id"],
                author=full(me),
                rating=p["stars"],
                body=p["text"],
            )
        ]


class SaveAttachment(Scenario):
    name, split, apps = "ch_save_attachment", "test_challenge", ("mail", "files")

    def sample(self, r, w):
        a = r.choice(
            w.rows(
                "SELECT a.*, e.subject, e.sent_at FROM mail_attachments a "
                "JOIN mail_emails e ON e.id = a.email_id ORDER BY a.id"
            )
        )
        return {
            "subject": a["subject"],
            "sent_at": a["sent_at"],
            "file": a["file_name"],
            "content": a["content"],
        }

    def instruction(self, p):
        return (
            f"Save the attachment of the e-mail '{p['subject']}' sent at {p['sent_at']} as a file "
            "in /receipts with the attachment's file name."
        )

    def solution(self, p):
        call = f"apis.mail.search_emails(access_token=mail_token, query='{p['subject']}')"
        return (
            login("mail", "files")
            + pages("hits", call)
            + f"e = [e for e in hits if e['sent_at'] == '{p['sent_at']}'][0]\n"
            "a = apis.mail.show_attachments(access_token=mail_token, email_id=e['id'])[0]\n"
            "apis.files.create_file(access_token=files_token, path='/receipts/' + a['file_name'], "
            "content=a['content'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        return [Added("files_files", path=f"/receipts/{p['file']}", content=p["content"])]


class CancelUndelivered(Scenario):
    name, split, apps = "ch_cancel_undelivered", "test_challenge", ("shop",)

    def sample(self, r, w):
        ids = [o["id"] for o in w.rows("SELECT id FROM shop_orders ORDER BY id")]
        return {"placed": sorted(r.sample(ids, r.randrange(1, 4)))}

    def setup(self, conn, p):
        conn.execute("UPDATE shop_orders SET status = 'delivered'")
        conn.executemany(
            "UPDATE shop_orders SET status = 'placed' WHERE id = ?", [(i,) for i in p["placed"]]
        )

    def instruction(self, p):
        return "Cancel all my shop orders that have not been delivered yet."

    def solution(self, p):
        call = "apis.shop.show_orders(access_token=shop_token, status='placed')"
        return (
            login("shop") + pages("orders", call) + "for o in orders:\n"
            "    apis.shop.cancel_order(access_token=shop_token, order_id=o['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        out = [Changed("shop_orders", {"id": i}, {"status": "cancelled"}) for i in p["placed"]]
        restock: dict[int, int] = {}
        for i in p["placed"]:
            for it in s.rows("SELECT * FROM shop_order_items WHERE order_id = ?", i):
                restock[it["product_id"]] = restock.get(it["product_id"], 0) + it["quantity"]
        for pid, q in sorted(restock.items()):
            stock = s.scalar("SELECT stock FROM shop_products WHERE id = ?", pid)
            out.append(Changed("shop_products", {"id": pid}, {"stock": stock + q}))
        return out


class EmailRelationship(Scenario):
    name, split, apps = "ch_email_relationship", "test_challenge", ("phone", "mail")

    def sample(self, r, w):
        return {
            "rel": r.choice(["sibling", "parent", "roommate"]),
            "subject": r.choice(["Summer plans", "Family photos", "House meeting"]),
            "body": r.choice(["Let us talk this weekend.", "Please reply by Friday."]),
        }

    def instruction(self, p):
        return (
            f"Send one e-mail addressed to all my {p['rel']}s with subject '{p['subject']}' and "
            f"body '{p['body']}'."
        )

    def solution(self, p):
        call = f"apis.phone.search_contacts(access_token=phone_token, relationship='{p['rel']}')"
        return (
            login("phone", "mail")
            + pages("people", call)
            + "apis.mail.send_email(access_token=mail_token, "
            "recipients=[c['email'] for c in people], "
            f"subject='{p['subject']}', body='{p['body']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        emails = sorted(
            r["email"]
            for r in s.rows("SELECT email FROM phone_contacts WHERE relationship = ?", p["rel"])
        )

        def same_people(v: str) -> bool:
            return sorted(v.split(",")) == emails

        return [
            Added(
                "mail_emails",
                recipients=same_people,
                subject=p["subject"],
                body=p["body"],
                folder="sent",
            )
        ]
