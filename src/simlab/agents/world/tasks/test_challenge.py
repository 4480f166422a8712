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
            f"Buy one unit of the cheapest in-stock product in the {p['category']} category "
            "(the lowest product id if several tie); ship it to my "
            f"{p['address']} address and pay with my {p['card']} card."
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


class ReorderLastDelivered(Scenario):
    name, split, apps = "ch_reorder_last_delivered", "test_challenge", ("shop",)

    def sample(self, r, w):
        return {
            "address": r.choice(["Home", "Work"]),
            "card": r.choice(["Everyday Visa", "Travel Mastercard"]),
            "stock": r.randrange(5, 20),
        }

    def _order(self, s):
        return s.one(
            "SELECT * FROM shop_orders WHERE status = 'delivered' "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        )

    def setup(self, conn, p):
        # enough stock to order the same items again
        conn.execute("DELETE FROM shop_cart")
        conn.execute(
            "UPDATE shop_products SET stock = MAX(stock, ?) WHERE id IN "
            "(SELECT product_id FROM shop_order_items)",
            (p["stock"],),
        )

    def instruction(self, p):
        return (
            "Order again everything from my most recent delivered shop order, with the same "
            f"quantities; ship to my {p['address']} address and pay with my {p['card']} card."
        )

    def solution(self, p):
        return login("shop") + (
            "o = apis.shop.show_orders(access_token=shop_token, status='delivered')[0]\n"
            "for it in apis.shop.show_order(access_token=shop_token, order_id=o['id'])['items']:\n"
            "    apis.shop.add_to_cart(access_token=shop_token, product_id=it['product_id'], "
            "quantity=it['quantity'])\n"
            f"addr = [a for a in apis.supervisor.show_addresses() if a['name'] == "
            f"'{p['address']}'][0]\n"
            f"card = [c for c in apis.supervisor.show_payment_cards() if c['card_name'] == "
            f"'{p['card']}'][0]\n"
            "apis.shop.place_order(access_token=shop_token, address_id=addr['id'], "
            "card_id=card['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        o = self._order(s)
        items = s.rows("SELECT * FROM shop_order_items WHERE order_id = ?", o["id"])
        addr = s.scalar("SELECT id FROM supervisor_addresses WHERE name = ?", p["address"])
        card = s.scalar("SELECT id FROM supervisor_cards WHERE card_name = ?", p["card"])
        new = (s.scalar("SELECT MAX(id) FROM shop_orders") or 0) + 1
        out = []
        total = 0.0
        for it in items:
            prod = s.one("SELECT * FROM shop_products WHERE id = ?", it["product_id"])
            total += prod["price"] * it["quantity"]
            out += [
                Added(
                    "shop_order_items", order_id=new, product_id=prod["id"], quantity=it["quantity"]
                ),
                Changed(
                    "shop_products", {"id": prod["id"]}, {"stock": prod["stock"] - it["quantity"]}
                ),
            ]
        order = Added("shop_orders", id=new, address_id=addr, card_id=card, total=round(total, 2))
        return [order, *out]


class StarFromCoworkers(Scenario):
    name, split, apps = "ch_star_from_coworkers", "test_challenge", ("phone", "mail")

    def sample(self, r, w):
        people = w.rows("SELECT email FROM phone_contacts WHERE relationship = 'coworker'")
        return {"senders": sorted(x["email"] for x in r.sample(people, 3)), "n": r.randrange(1000)}

    def setup(self, conn, p):
        now = conn.execute("SELECT now FROM meta_clock").fetchone()[0]
        me = conn.execute(ME_EMAIL).fetchone()[0]
        for i, sender in enumerate(p["senders"]):
            conn.execute(
                "INSERT INTO mail_emails (thread_id, sender, recipients, subject, body, folder, "
                "is_read, is_starred, sent_at) VALUES (?, ?, ?, ?, 'See the notes.', 'inbox', "
                "0, 0, ?)",
                (10_000 + i, sender, me, f"Sprint review {p['n'] + i}", now),
            )
        conn.execute(
            "UPDATE mail_emails SET is_starred = 0 WHERE sender IN "
            "(SELECT email FROM phone_contacts WHERE relationship = 'coworker')"
        )

    def instruction(self, p):
        return "Star every e-mail in my inbox that was sent by one of my coworkers."

    def solution(self, p):
        call = "apis.phone.search_contacts(access_token=phone_token, relationship='coworker')"
        search = (
            "apis.mail.search_emails(access_token=mail_token, folder='inbox', sender=c['email'])"
        )
        return (
            login("phone", "mail")
            + pages("coworkers", call)
            + "for c in coworkers:\n"
            + "".join("    " + line + "\n" for line in pages("found", search).splitlines())
            + "    for e in found:\n"
            "        apis.mail.star_email(access_token=mail_token, email_id=e['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows(
            "SELECT id FROM mail_emails WHERE folder = 'inbox' AND sender IN "
            "(SELECT email FROM phone_contacts WHERE relationship = 'coworker')"
        )
        return [Changed("mail_emails", {"id": e["id"]}, {"is_starred": 1}) for e in rows]


class LabelInvoices(Scenario):
    name, split, apps = "ch_label_invoices", "test_challenge", ("mail",)

    def sample(self, r, w):
        return {"label": r.choice(["finance", "bills", "to pay"])}

    def instruction(self, p):
        return f"Add the label '{p['label']}' to every e-mail whose subject starts with 'Invoice'."

    def solution(self, p):
        call = "apis.mail.search_emails(access_token=mail_token, query='Invoice')"
        return (
            login("mail") + pages("found", call) + "for e in found:\n"
            "    if e['subject'].startswith('Invoice'):\n"
            "        apis.mail.add_label(access_token=mail_token, email_id=e['id'], "
            f"label='{p['label']}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        rows = s.rows("SELECT id FROM mail_emails WHERE subject LIKE 'Invoice%'")
        return [Added("mail_labels", email_id=e["id"], label=p["label"]) for e in rows]


class SpentOnCategory(Scenario):
    name, split, apps, answer_kind = (
        "ch_spent_on_category",
        "test_challenge",
        ("shop",),
        "money",
    )

    def sample(self, r, w):
        c = r.choice(
            w.rows(
                "SELECT DISTINCT p.category FROM shop_order_items i JOIN shop_products p "
                "ON p.id = i.product_id ORDER BY p.category"
            )
        )
        return {"category": c["category"]}

    def instruction(self, p):
        return (
            f"How much have I spent in total on {p['category']} products over all my shop "
            "orders that were not cancelled? Use the prices I paid."
        )

    def solution(self, p):
        return (
            login("shop")
            + pages("orders", "apis.shop.show_orders(access_token=shop_token)")
            + "total = 0.0\n"
            "for o in orders:\n"
            "    if o['status'] == 'cancelled':\n"
            "        continue\n"
            "    for it in apis.shop.show_order(access_token=shop_token, order_id=o['id'])"
            "['items']:\n"
            "        prod = apis.shop.show_product(access_token=shop_token, "
            "product_id=it['product_id'])\n"
            f"        if prod['category'] == '{p['category']}':\n"
            "            total += it['price'] * it['quantity']\n"
            "apis.supervisor.complete_task(answer=round(total, 2))\n"
        )

    def answer(self, s, p):
        return s.scalar(
            "SELECT ROUND(COALESCE(SUM(i.price * i.quantity), 0), 2) FROM shop_order_items i "
            "JOIN shop_orders o ON o.id = i.order_id JOIN shop_products p ON p.id = i.product_id "
            "WHERE o.status != 'cancelled' AND p.category = ?",
            p["category"],
        )


class EmailBalanceToManager(Scenario):
    name, split, apps = "ch_email_balance", "test_challenge", ("phone", "wallet", "mail")

    def sample(self, r, w):
        return {
            "balance": r.randrange(10000, 400000) / 100,
            "rel": r.choice(["manager", "partner"]),
        }

    def setup(self, conn, p):
        conn.execute("UPDATE wallet_users SET balance = ? WHERE id = 1", (p["balance"],))

    def instruction(self, p):
        return (
            f"E-mail my {p['rel']} my current wallet balance: subject 'Balance', body "
            "'My balance is $<amount>' with the amount to two decimals, e.g. $12.50."
        )

    def solution(self, p):
        return login("phone", "wallet", "mail") + (
            "c = apis.phone.search_contacts(access_token=phone_token, "
            f"relationship='{p['rel']}')[0]\n"
            "b = apis.wallet.show_balance(access_token=wallet_token)['balance']\n"
            "apis.mail.send_email(access_token=mail_token, recipients=[c['email']], "
            "subject='Balance', body=f'My balance is ${b:.2f}')\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        email = s.scalar("SELECT email FROM phone_contacts WHERE relationship = ?", p["rel"])
        body = f"My balance is ${p['balance']:.2f}"
        return [Added("mail_emails", recipients=email, subject="Balance", body=body)]


class BuyCheapestWish(Scenario):
    name, split, apps = "ch_buy_cheapest_wish", "test_challenge", ("shop",)

    def sample(self, r, w):
        ids = [x["id"] for x in w.rows("SELECT id FROM shop_products WHERE stock > 0 ORDER BY id")]
        return {
            "wish": sorted(r.sample(ids, 4)),
            "card": r.choice(["Everyday Visa", "Travel Mastercard"]),
        }

    def setup(self, conn, p):
        now = conn.execute("SELECT now FROM meta_clock").fetchone()[0]
        conn.execute("DELETE FROM shop_wishlist")
        conn.execute("DELETE FROM shop_cart")
        conn.executemany(
            "INSERT INTO shop_wishlist (product_id, added_at) VALUES (?, ?)",
            [(i, now) for i in p["wish"]],
        )

    def instruction(self, p):
        return (
            "Buy the cheapest product on my shop wish list (one unit; the lowest product id if "
            "several tie), ship it home and pay with "
            f"my {p['card']} card, then remove it from the wish list."
        )

    def solution(self, p):
        return (
            login("shop")
            + pages("wish", "apis.shop.show_wishlist(access_token=shop_token)")
            + "best = min(wish, key=lambda x: (x['price'], x['id']))\n"
            "apis.shop.add_to_cart(access_token=shop_token, product_id=best['id'])\n"
            "addr = [a for a in apis.supervisor.show_addresses() if a['name'] == 'Home'][0]\n"
            f"card = [c for c in apis.supervisor.show_payment_cards() if c['card_name'] == "
            f"'{p['card']}'][0]\n"
            "apis.shop.place_order(access_token=shop_token, address_id=addr['id'], "
            "card_id=card['id'])\n"
            "apis.shop.remove_from_wishlist(access_token=shop_token, product_id=best['id'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        prod = s.one(
            "SELECT p.* FROM shop_wishlist w JOIN shop_products p ON p.id = w.product_id "
            "ORDER BY p.price, p.id LIMIT 1"
        )
        card = s.scalar("SELECT id FROM supervisor_cards WHERE card_name = ?", p["card"])
        home = s.scalar("SELECT id FROM supervisor_addresses WHERE name = 'Home'")
        new = (s.scalar("SELECT MAX(id) FROM shop_orders") or 0) + 1
        return [
            Added("shop_orders", id=new, address_id=home, card_id=card, total=prod["price"]),
            Added("shop_order_items", order_id=new, product_id=prod["id"], quantity=1),
            Changed("shop_products", {"id": prod["id"]}, {"stock": prod["stock"] - 1}),
            Removed("shop_wishlist", product_id=prod["id"]),
        ]


class MailPlaylist(Scenario):
    name, split, apps = "ch_mail_playlist", "test_challenge", ("music", "phone", "mail")

    def sample(self, r, w):
        pl = r.choice(w.rows("SELECT * FROM music_playlists ORDER BY id"))
        return {"playlist": pl["title"], "id": pl["id"], "rel": r.choice(["partner", "manager"])}

    def instruction(self, p):
        return (
            f"E-mail my {p['rel']} the titles of the songs in my '{p['playlist']}' playlist, one "
            f"per line in playlist order, with the subject '{p['playlist']}'."
        )

    def solution(self, p):
        return login("music", "phone", "mail") + (
            "pls = apis.music.show_playlists(access_token=music_token, page_limit=20)\n"
            f"pl = [x for x in pls if x['title'] == '{p['playlist']}'][0]\n"
            "ids = apis.music.show_playlist(access_token=music_token, "
            "playlist_id=pl['id'])['song_ids']\n"
            "titles = [apis.music.show_song(access_token=music_token, song_id=i)['title'] "
            "for i in ids]\n"
            "c = apis.phone.search_contacts(access_token=phone_token, "
            f"relationship='{p['rel']}')[0]\n"
            "apis.mail.send_email(access_token=mail_token, recipients=[c['email']], "
            f"subject='{p['playlist']}', body='\\n'.join(titles))\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        titles = [
            x["title"]
            for x in s.rows(
                "SELECT s.title FROM music_playlist_songs x JOIN music_songs s "
                "ON s.id = x.song_id WHERE x.playlist_id = ? ORDER BY x.added_at, x.song_id",
                p["id"],
            )
        ]
        email = s.scalar("SELECT email FROM phone_contacts WHERE relationship = ?", p["rel"])
        return [
            Added("mail_emails", recipients=email, subject=p["playlist"], body="\n".join(titles))
        ]


class NoteFromEmail(Scenario):
    name, split, apps = "ch_note_from_email", "test_challenge", ("mail", "notes")

    def sample(self, r, w):
        e = r.choice(
            w.rows("SELECT * FROM mail_emails WHERE subject LIKE 'Book club%' ORDER BY id")
        )
        return {"id": e["id"], "sent_at": e["sent_at"], "title": r.choice(["Book club", "Reading"])}

    def instruction(self, p):
        return (
            f"Create a note titled '{p['title']}' whose body is the text of the 'Book club' "
            f"e-mail sent at {p['sent_at']}, tagged 'reading'."
        )

    def solution(self, p):
        call = "apis.mail.search_emails(access_token=mail_token, query='Book club')"
        return (
            login("mail", "notes")
            + pages("found", call)
            + f"e = [e for e in found if e['sent_at'] == '{p['sent_at']}'][0]\n"
            "body = apis.mail.show_email(access_token=mail_token, email_id=e['id'])['body']\n"
            f"apis.notes.create_note(access_token=notes_token, title='{p['title']}', body=body, "
            "tags=['reading'])\n"
            "apis.supervisor.complete_task()\n"
        )

    def expect(self, s, p):
        body = s.scalar("SELECT body FROM mail_emails WHERE id = ?", p["id"])
        return [Added("notes_notes", title=p["title"], body=body, tags="reading")]
