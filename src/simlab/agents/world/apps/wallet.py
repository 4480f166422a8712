"""``wallet``: payments between people, friends, a social feed, likes, comments, requests."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, Length, OneOf, Range, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["Wallet"]

ME = 1  # the user's wallet id (people and wallet users share ids)
Amount = Annotated[float, Range(0.01, 10000)]
Text = Annotated[str, Length(1, 200)]
Status = Annotated[str | None, OneOf("pending", "paid", "declined", "cancelled")]


class Wallet(AccountApp):
    name = "wallet"
    description = "Send and request money, see friends' payments, like and comment on them."

    def _public_user(self, uid: int) -> dict[str, Any]:
        r = self.rows("SELECT id, first_name, last_name, email FROM wallet_users WHERE id = ?", uid)
        if not r:
            raise ApiError(404, f"no wallet user with id {uid}")
        return r[0]

    def _by_email(self, email: str) -> int:
        uid = self.scalar("SELECT id FROM wallet_users WHERE lower(email) = lower(?)", email)
        if uid is None:
            raise ApiError(404, f"no wallet user with email {email!r}")
        if uid == ME:
            raise ApiError(400, "you cannot do this with yourself")
        return uid

    def _txn(self, tid: int) -> dict[str, Any]:
        t = self.row("wallet_transactions", tid, "transaction")
        if t["is_private"] and ME not in (t["sender_id"], t["receiver_id"]):
            raise ApiError(403, f"transaction {tid} is private")
        t["is_private"] = bool(t["is_private"])
        t["like_count"] = self.scalar(
            "SELECT COUNT(*) FROM wallet_likes WHERE transaction_id = ?", tid
        )
        return t

    @api()
    def show_account(self) -> dict[str, Any]:
        """Show your wallet account.

        Returns: {id, first_name, last_name, email, balance}
        """
        return self.rows(
            "SELECT id, first_name, last_name, email, balance FROM wallet_users WHERE id = ?", ME
        )[0]

    @api()
    def show_balance(self) -> dict[str, Any]:
        """Show your balance in dollars.

        Returns: {balance}
        """
        return {"balance": round(self.scalar("SELECT balance FROM wallet_users WHERE id=?", ME), 2)}

    @api(paginated=True)
    def search_users(self, *, query: str = "") -> list[dict[str, Any]]:
        """Search wallet users by name or e-mail.

        query: Text to match ("" matches all).
        Returns: [{id, first_name, last_name, email}]
        """
        q = like(query)
        return self.rows(
            "SELECT id, first_name, last_name, email FROM wallet_users WHERE id != ? AND "
            "(lower(first_name || ' ' || last_name) LIKE ? OR lower(email) LIKE ?) ORDER BY id",
            ME,
            q,
            q,
        )

    @api()
    def show_user(self, *, user_id: int) -> dict[str, Any]:
        """Show a wallet user's public profile.

        user_id: The user's id.
        Returns: {id, first_name, last_name, email}
        """
        return self._public_user(user_id)

    @api(paginated=True)
    def show_friends(self) -> list[dict[str, Any]]:
        """Show your wallet friends.

        Returns: [{id, first_name, last_name, email}]
        """
        return self.rows(
            "SELECT u.id, u.first_name, u.last_name, u.email FROM wallet_friends f "
            "JOIN wallet_users u ON u.id = f.friend_id WHERE f.user_id = ? ORDER BY u.id",
            ME,
        )

    @api("POST")
    def add_friend(self, *, user_email: str) -> dict[str, Any]:
        """Add a wallet user as a friend.

        user_email: The user's e-mail address.
        Returns: {message}
        """
        uid = self._by_email(user_email)
        if self.scalar("SELECT 1 FROM wallet_friends WHERE user_id=? AND friend_id=?", ME, uid):
            raise ApiError(409, f"{user_email} is already your friend")
        self.insert("wallet_friends", user_id=ME, friend_id=uid, created_at=self.stamp())
        return {"message": "Friend added."}

    @api("DELETE")
    def remove_friend(self, *, user_email: str) -> dict[str, Any]:
        """Remove a friend.

        user_email: The friend's e-mail address.
        Returns: {message}
        """
        uid = self._by_email(user_email)
        if not self.delete("wallet_friends", user_id=ME, friend_id=uid):
            raise ApiError(404, f"{user_email} is not your friend")
        return {"message": "Friend removed."}

    @api(paginated=True)
    def show_transactions(
        self,
        *,
        direction: Annotated[str, OneOf("all", "sent", "received")] = "all",
        user_email: str | None = None,
        min_amount: float | None = None,
    ) -> list[dict[str, Any]]:
        """Show your own transactions, newest first.

        direction: "sent", "received" or "all".
        user_email: Only transactions with this user.
        min_amount: Only transactions of at least this amount.
        Returns: [{id, sender_id, receiver_id, amount, description, is_private, created_at}]
        """
        cond = {
            "all": "(sender_id = :me OR receiver_id = :me)",
            "sent": "sender_id = :me",
            "received": "receiver_id = :me",
        }[direction]
        args: dict[str, Any] = {"me": ME, "min": min_amount or 0.0}
        if user_email is not None:
            args["other"] = self._by_email(user_email)
            cond += " AND (sender_id = :other OR receiver_id = :other)"
        rows = [
            dict(r)
            for r in self.db.execute(
                f"SELECT * FROM wallet_transactions WHERE {cond} AND amount >= :min "
                "ORDER BY created_at DESC, id DESC",
                args,
            ).fetchall()
        ]
        for r in rows:
            r["is_private"] = bool(r["is_private"])
        return rows

    @api()
    def show_transaction(self, *, transaction_id: int) -> dict[str, Any]:
        """Show one transaction with its like count.

        transaction_id: The transaction's id.
        Returns: {id, sender_id, receiver_id, amount, description, ..., like_count}
        """
        return self._txn(transaction_id)

    @api("POST")
    def create_transaction(
        self,
        *,
        receiver_email: str,
        amount: Amount,
        description: Text,
        is_private: bool = False,
    ) -> dict[str, Any]:
        """Send money from your balance.

        receiver_email: The receiver's e-mail address.
        amount: Dollars to send.
        description: What it is for.
        is_private: Hide it from the social feed.
        Returns: {transaction_id}
        """
        to = self._by_email(receiver_email)
        amount = round(amount, 2)
        bal = self.scalar("SELECT balance FROM wallet_users WHERE id = ?", ME)
        if amount > bal + 1e-9:
            raise ApiError(400, f"insufficient balance: {bal:.2f} < {amount:.2f}")
        self.db.execute(
            "UPDATE wallet_users SET balance = round(balance - ?, 2) WHERE id=?", (amount, ME)
        )
        self.db.execute(
            "UPDATE wallet_users SET balance = round(balance + ?, 2) WHERE id=?", (amount, to)
        )
        tid = self.insert(
            "wallet_transactions",
            sender_id=ME,
            receiver_id=to,
            amount=amount,
            description=description,
            is_private=int(is_private),
            created_at=self.stamp(),
        )
        return {"transaction_id": tid}

    @api("POST")
    def like_transaction(self, *, transaction_id: int) -> dict[str, Any]:
        """Like a transaction.

        transaction_id: The transaction's id.
        Returns: {message}
        """
        self._txn(transaction_id)
        if self.scalar(
            "SELECT 1 FROM wallet_likes WHERE transaction_id=? AND user_id=?", transaction_id, ME
        ):
            raise ApiError(409, f"you already like transaction {transaction_id}")
        self.insert(
            "wallet_likes", transaction_id=transaction_id, user_id=ME, created_at=self.stamp()
        )
        return {"message": "Liked."}

    @api("DELETE")
    def unlike_transaction(self, *, transaction_id: int) -> dict[str, Any]:
        """Remove your like from a transaction.

        transaction_id: The transaction's id.
        Returns: {message}
        """
        self._txn(transaction_id)
        if not self.delete("wallet_likes", transaction_id=transaction_id, user_id=ME):
            raise ApiError(404, f"you do not like transaction {transaction_id}")
        return {"message": "Unliked."}

    @api(paginated=True)
    def show_transaction_comments(self, *, transaction_id: int) -> list[dict[str, Any]]:
        """Show the comments on a transaction, oldest first.

        transaction_id: The transaction's id.
        Returns: [{id, user_id, body, created_at}]
        """
        self._txn(transaction_id)
        return self.rows(
            "SELECT id, user_id, body, created_at FROM wallet_comments WHERE transaction_id = ? "
            "ORDER BY created_at, id",
            transaction_id,
        )

    @api("POST")
    def comment_on_transaction(self, *, transaction_id: int, body: Text) -> dict[str, Any]:
        """Comment on a transaction.

        transaction_id: The transaction's id.
        body: The comment.
        Returns: {comment_id}
        """
        self._txn(transaction_id)
        cid = self.insert(
            "wallet_comments",
            transaction_id=transaction_id,
            user_id=ME,
            body=body,
            created_at=self.stamp(),
        )
        return {"comment_id": cid}

    @api(paginated=True)
    def show_social_feed(self) -> list[dict[str, Any]]:
        """Show your friends' public transactions, newest first.

        Returns: [{id, sender_id, receiver_id, amount, description, created_at}]
        """
        return self.rows(
            "SELECT id, sender_id, receiver_id, amount, description, created_at "
            "FROM wallet_transactions WHERE is_private = 0 AND (sender_id IN "
            "(SELECT friend_id FROM wallet_friends WHERE user_id = ?) OR receiver_id IN "
            "(SELECT friend_id FROM wallet_friends WHERE user_id = ?)) "
            "ORDER BY created_at DESC, id DESC",
            ME,
            ME,
        )

    def _requests(self, col: str, status: str | None) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM wallet_requests WHERE {col} = ?"
        args: list[Any] = [ME]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return self.rows(sql + " ORDER BY created_at DESC, id DESC", *args)

    @api(paginated=True)
    def show_sent_payment_requests(self, *, status: Status = None) -> list[dict[str, Any]]:
        """Show payment requests you sent, newest first.

        status: Only requests with this status.
        Returns: [{id, requester_id, payer_id, amount, description, status, reminders, ...}]
        """
        return self._requests("requester_id", status)

    @api(paginated=True)
    def show_received_payment_requests(self, *, status: Status = None) -> list[dict]:
        """Show payment requests others sent you, newest first.

        status: Only requests with this status.
        Returns: [{id, requester_id, payer_id, amount, description, status, reminders, ...}]
        """
        return self._requests("payer_id", status)

    @api("POST")
    def create_payment_request(
        self, *, user_email: str, amount: Amount, description: Text
    ) -> dict[str, Any]:
        """Ask a user to pay you.

        user_email: The payer's e-mail address.
        amount: Dollars requested.
        description: What it is for.
        Returns: {payment_request_id}
        """
        uid = self._by_email(user_email)
        rid = self.insert(
            "wallet_requests",
            requester_id=ME,
            payer_id=uid,
            amount=round(amount, 2),
            description=description,
            status="pending",
            reminders=0,
            created_at=self.stamp(),
            updated_at=self.stamp(),
        )
        return {"payment_request_id": rid}

    def _request(self, rid: int, role: str) -> dict[str, Any]:
        r = self.row("wallet_requests", rid, "payment request")
        if r[role] != ME:
            raise ApiError(
                403,
                f"payment request {rid} was not {'sent to' if role == 'payer_id' else 'sent by'}"
                " you",
            )
        if r["status"] != "pending":
            raise ApiError(409, f"payment request {rid} is {r['status']}, not pending")
        return r

    @api("PUT")
    def approve_payment_request(self, *, payment_request_id: int) -> dict[str, Any]:
        """Pay a pending request sent to you (creates a transaction).

        payment_request_id: The request's id.
        Returns: {transaction_id}
        """
        r = self._request(payment_request_id, "payer_id")
        email = self.scalar("SELECT email FROM wallet_users WHERE id = ?", r["requester_id"])
        out = self.create_transaction(
            receiver_email=email, amount=r["amount"], description=r["description"]
        )
        self.update("wallet_requests", {"id": r["id"]}, status="paid", updated_at=self.stamp())
        return out

    @api("PUT")
    def decline_payment_request(self, *, payment_request_id: int) -> dict[str, Any]:
        """Decline a pending request sent to you.

        payment_request_id: The request's id.
        Returns: {message}
        """
        r = self._request(payment_request_id, "payer_id")
        self.update("wallet_requests", {"id": r["id"]}, status="declined", updated_at=self.stamp())
        return {"message": "Payment request declined."}

    @api("PUT")
    def remind_payment_request(self, *, payment_request_id: int) -> dict[str, Any]:
        """Remind the payer of a pending request you sent.

        payment_request_id: The request's id.
        Returns: {message}
        """
        r = self._request(payment_request_id, "requester_id")
        self.update(
            "wallet_requests",
            {"id": r["id"]},
            reminders=r["reminders"] + 1,
            updated_at=self.stamp(),
        )
        return {"message": "Reminder sent."}

    @api("PUT")
    def cancel_payment_request(self, *, payment_request_id: int) -> dict[str, Any]:
        """Cancel a pending request you sent.

        payment_request_id: The request's id.
        Returns: {message}
        """
        r = self._request(payment_request_id, "requester_id")
        self.update("wallet_requests", {"id": r["id"]}, status="cancelled", updated_at=self.stamp())
        return {"message": "Payment request cancelled."}
