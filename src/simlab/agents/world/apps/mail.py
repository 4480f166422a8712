"""``mail``: e-mail threads in folders, labels, stars and attachments."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, Length, OneOf, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["Mail"]

FOLDERS = ("inbox", "sent", "archive", "trash")
Folder = Annotated[str | None, OneOf(*FOLDERS)]
Label = Annotated[str, Length(1, 30)]


def _mail(r: dict[str, Any]) -> dict[str, Any]:
    r["recipients"] = r["recipients"].split(",") if r["recipients"] else []
    r["is_read"] = bool(r["is_read"])
    r["is_starred"] = bool(r["is_starred"])
    return r


class Mail(AccountApp):
    name = "mail"
    description = "Your e-mail: search, read, send, reply, forward, archive, label, attachments."

    def _get(self, email_id: int) -> dict[str, Any]:
        return _mail(self.row("mail_emails", email_id, "email"))

    def _send(self, recipients: list[str], subject: str, body: str, thread_id: int | None) -> int:
        for r in recipients:
            if "@" not in r:
                raise ApiError(422, f"recipients must be e-mail addresses, got {r!r}")
        if not recipients:
            raise ApiError(422, "recipients must hold at least one address")
        tid = thread_id or (self.scalar("SELECT COALESCE(MAX(thread_id), 0) FROM mail_emails") + 1)
        return self.insert(
            "mail_emails",
            thread_id=tid,
            sender=self.user["email"],
            recipients=",".join(recipients),
            subject=subject,
            body=body,
            folder="sent",
            is_read=1,
            is_starred=0,
            sent_at=self.stamp(),
        )

    @api(paginated=True)
    def search_emails(
        self,
        *,
        query: str = "",
        folder: Folder = None,
        sender: str | None = None,
        label: str | None = None,
        is_read: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Search e-mails by text in the subject or body, newest first.

        query: Text to match ("" matches all).
        folder: Only this folder.
        sender: Only e-mails from this address.
        label: Only e-mails with this label.
        is_read: Only read (True) or unread (False) e-mails.
        Returns: [{id, thread_id, sender, recipients, subject, folder, is_read, ...}]
        """
        q = like(query)
        sql = (
            "SELECT id, thread_id, sender, recipients, subject, folder, is_read, is_starred, "
            "sent_at FROM mail_emails WHERE (lower(subject) LIKE ? OR lower(body) LIKE ?)"
        )
        args: list[Any] = [q, q]
        if folder is not None:
            sql += " AND folder = ?"
            args.append(folder)
        if sender is not None:
            sql += " AND lower(sender) = lower(?)"
            args.append(sender)
        if label is not None:
            sql += " AND id IN (SELECT email_id FROM mail_labels WHERE label = ?)"
            args.append(label)
        if is_read is not None:
            sql += " AND is_read = ?"
            args.append(int(is_read))
        return [_mail(r) for r in self.rows(sql + " ORDER BY sent_at DESC, id DESC", *args)]

    @api()
    def show_email(self, *, email_id: int) -> dict[str, Any]:
        """Show an e-mail with its body, labels and attachment ids.

        email_id: The e-mail's id.
        Returns: {id, sender, recipients, subject, body, ..., labels, attachment_ids}
        """
        e = self._get(email_id)
        e["labels"] = [
            r["label"]
            for r in self.rows(
                "SELECT label FROM mail_labels WHERE email_id=? ORDER BY label", email_id
            )
        ]
        e["attachment_ids"] = [
            r["id"]
            for r in self.rows(
                "SELECT id FROM mail_attachments WHERE email_id=? ORDER BY id", email_id
            )
        ]
        return e

    @api("POST")
    def send_email(
        self,
        *,
        recipients: Annotated[list[str], Length(1, 20)],
        subject: Annotated[str, Length(1, 150)],
        body: str,
    ) -> dict[str, Any]:
        """Send a new e-mail.

        recipients: E-mail addresses.
        subject: The subject.
        body: The text.
        Returns: {email_id}
        """
        return {"email_id": self._send(recipients, subject, body, None)}

    @api("POST")
    def reply_to_email(self, *, email_id: int, body: str) -> dict[str, Any]:
        """Reply to the sender of an e-mail, in the same thread.

        email_id: The e-mail to answer.
        body: The text.
        Returns: {email_id}
        """
        e = self._get(email_id)
        subject = e["subject"] if e["subject"].startswith("Re: ") else f"Re: {e['subject']}"
        return {"email_id": self._send([e["sender"]], subject, body, e["thread_id"])}

    @api("POST")
    def forward_email(
        self, *, email_id: int, recipients: Annotated[list[str], Length(1, 20)], body: str = ""
    ) -> dict[str, Any]:
        """Forward an e-mail (with its attachments) to new recipients.

        email_id: The e-mail to forward.
        recipients: E-mail addresses.
        body: A note placed above the forwarded text.
        Returns: {email_id}
        """
        e = self._get(email_id)
        text = f"{body}\n\n---------- Forwarded message ----------\n{e['body']}".lstrip()
        new = self._send(recipients, f"Fwd: {e['subject']}", text, None)
        for a in self.rows("SELECT * FROM mail_attachments WHERE email_id=? ORDER BY id", email_id):
            self.insert(
                "mail_attachments", email_id=new, file_name=a["file_name"], content=a["content"]
            )
        return {"email_id": new}

    def _move(self, email_id: int, folder: str) -> dict[str, Any]:
        e = self._get(email_id)
        if e["folder"] == folder:
            raise ApiError(409, f"email {email_id} is already in {folder}")
        self.update("mail_emails", {"id": email_id}, folder=folder)
        return {"message": f"E-mail moved to {folder}."}

    @api("PUT")
    def archive_email(self, *, email_id: int) -> dict[str, Any]:
        """Move an e-mail to the archive.

        email_id: The e-mail's id.
        Returns: {message}
        """
        return self._move(email_id, "archive")

    @api("DELETE")
    def delete_email(self, *, email_id: int) -> dict[str, Any]:
        """Move an e-mail to the trash.

        email_id: The e-mail's id.
        Returns: {message}
        """
        return self._move(email_id, "trash")

    @api("PUT")
    def mark_email_read(self, *, email_id: int, is_read: bool = True) -> dict[str, Any]:
        """Mark an e-mail as read (or unread).

        email_id: The e-mail's id.
        is_read: True for read, False for unread.
        Returns: {message}
        """
        self._get(email_id)
        self.update("mail_emails", {"id": email_id}, is_read=int(is_read))
        return {"message": "E-mail updated."}

    @api("PUT")
    def star_email(self, *, email_id: int, is_starred: bool = True) -> dict[str, Any]:
        """Star (or unstar) an e-mail.

        email_id: The e-mail's id.
        is_starred: True to star, False to unstar.
        Returns: {message}
        """
        self._get(email_id)
        self.update("mail_emails", {"id": email_id}, is_starred=int(is_starred))
        return {"message": "E-mail updated."}

    @api()
    def show_labels(self) -> list[dict[str, Any]]:
        """List your labels with how many e-mails carry each.

        Returns: [{label, count}]
        """
        return self.rows(
            "SELECT label, COUNT(*) AS count FROM mail_labels GROUP BY label ORDER BY label"
        )

    @api("POST")
    def add_label(self, *, email_id: int, label: Label) -> dict[str, Any]:
        """Put a label on an e-mail.

        email_id: The e-mail's id.
        label: The label, e.g. "travel".
        Returns: {message}
        """
        self._get(email_id)
        if self.scalar("SELECT 1 FROM mail_labels WHERE email_id=? AND label=?", email_id, label):
            raise ApiError(409, f"email {email_id} already has label {label!r}")
        self.insert("mail_labels", email_id=email_id, label=label)
        return {"message": "Label added."}

    @api("DELETE")
    def remove_label(self, *, email_id: int, label: Label) -> dict[str, Any]:
        """Take a label off an e-mail.

        email_id: The e-mail's id.
        label: The label.
        Returns: {message}
        """
        self._get(email_id)
        if not self.delete("mail_labels", email_id=email_id, label=label):
            raise ApiError(404, f"email {email_id} has no label {label!r}")
        return {"message": "Label removed."}

    @api()
    def show_attachments(self, *, email_id: int) -> list[dict[str, Any]]:
        """Show the attachments of an e-mail with their text content.

        email_id: The e-mail's id.
        Returns: [{id, file_name, content}]
        """
        self._get(email_id)
        return self.rows(
            "SELECT id, file_name, content FROM mail_attachments WHERE email_id=? ORDER BY id",
            email_id,
        )
