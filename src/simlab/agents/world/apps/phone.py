"""``phone``: the user's contacts (with relationship labels), text messages and alarms."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, IsoDate, IsoTime, Length, OneOf, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["RELATIONSHIPS", "WEEKDAYS", "Phone"]

RELATIONSHIPS = ("roommate", "partner", "sibling", "parent", "friend", "coworker", "manager")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Rel = Annotated[str | None, OneOf(*RELATIONSHIPS)]
Name = Annotated[str, Length(1, 50)]
Number = Annotated[str, Length(7, 20)]


class Phone(AccountApp):
    name = "phone"
    description = "Your phone: contacts with relationships, text messages and alarms."
    username_kind = "phone_number"

    def _contact(self, contact_id: int) -> dict[str, Any]:
        return self.row("phone_contacts", contact_id, "contact")

    @api()
    def show_account(self) -> dict[str, Any]:
        """Show your phone account.

        Returns: {first_name, last_name, phone_number, email}
        """
        return {k: self.user[k] for k in ("first_name", "last_name", "phone_number", "email")}

    @api(paginated=True)
    def search_contacts(self, *, query: str = "", relationship: Rel = None) -> list[dict]:
        """Search your contacts by name, number or e-mail, optionally by relationship.

        query: Text to match in the name, phone number or e-mail ("" matches all).
        relationship: Only contacts with this relationship to you.
        Returns: [{id, first_name, last_name, phone_number, email, relationship, birthday, city}]
        """
        q = like(query)
        sql = (
            "SELECT id, first_name, last_name, phone_number, email, relationship, birthday, city "
            "FROM phone_contacts WHERE (lower(first_name || ' ' || last_name) LIKE ? "
            "OR phone_number LIKE ? OR lower(email) LIKE ?)"
        )
        args: list[Any] = [q, q, q]
        if relationship is not None:
            sql += " AND relationship = ?"
            args.append(relationship)
        return self.rows(sql + " ORDER BY id", *args)

    @api()
    def show_contact(self, *, contact_id: int) -> dict[str, Any]:
        """Show one contact.

        contact_id: The contact's id.
        Returns: {id, first_name, last_name, phone_number, email, relationship, birthday, city}
        """
        c = self._contact(contact_id)
        c.pop("created_at")
        return c

    @api("POST")
    def add_contact(
        self,
        *,
        first_name: Name,
        last_name: Name,
        phone_number: Number,
        email: str | None = None,
        relationship: Rel = None,
        birthday: Annotated[str | None, IsoDate()] = None,
        city: str | None = None,
    ) -> dict[str, Any]:
        """Add a contact.

        first_name: First name.
        last_name: Last name.
        phone_number: Phone number.
        email: E-mail address.
        relationship: Their relationship to you.
        birthday: Birthday.
        city: City.
        Returns: {contact_id}
        """
        if self.scalar("SELECT id FROM phone_contacts WHERE phone_number = ?", phone_number):
            raise ApiError(409, f"a contact with phone_number {phone_number} already exists")
        cid = self.insert(
            "phone_contacts",
            first_name=first_name,
            last_name=last_name,
            phone_number=phone_number,
            email=email,
            relationship=relationship,
            birthday=birthday,
            city=city,
            created_at=self.stamp(),
        )
        return {"contact_id": cid}

    @api("PUT")
    def update_contact(
        self,
        *,
        contact_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        relationship: Rel = None,
        city: str | None = None,
    ) -> dict[str, Any]:
        """Change fields of a contact (fields left None are kept).

        contact_id: The contact's id.
        first_name: New first name.
        last_name: New last name.
        email: New e-mail address.
        relationship: New relationship.
        city: New city.
        Returns: {message}
        """
        self._contact(contact_id)
        new = {
            k: v
            for k, v in dict(
                first_name=first_name,
                last_name=last_name,
                email=email,
                relationship=relationship,
                city=city,
            ).items()
            if v is not None
        }
        if not new:
            raise ApiError(400, "give at least one field to change")
        self.update("phone_contacts", {"id": contact_id}, **new)
        return {"message": "Contact updated."}

    @api("DELETE")
    def delete_contact(self, *, contact_id: int) -> dict[str, Any]:
        """Delete a contact.

        contact_id: The contact's id.
        Returns: {message}
        """
        self._contact(contact_id)
        self.delete("phone_contacts", id=contact_id)
        return {"message": "Contact deleted."}

    @api(paginated=True)
    def search_text_messages(
        self, *, query: str = "", phone_number: str | None = None, only_unread: bool = False
    ) -> list[dict[str, Any]]:
        """Search your text messages, newest first.

        query: Text to match in the message body ("" matches all).
        phone_number: Only messages sent to or received from this number.
        only_unread: Only unread received messages.
        Returns: [{id, sender_number, receiver_number, body, is_read, sent_at}]
        """
        sql = "SELECT * FROM phone_messages WHERE lower(body) LIKE ?"
        args: list[Any] = [like(query)]
        if phone_number is not None:
            sql += " AND (sender_number = ? OR receiver_number = ?)"
            args += [phone_number, phone_number]
        if only_unread:
            sql += " AND is_read = 0 AND receiver_number = ?"
            args.append(self.user["phone_number"])
        rows = self.rows(sql + " ORDER BY sent_at DESC, id DESC", *args)
        for r in rows:
            r["is_read"] = bool(r["is_read"])
        return rows

    @api()
    def show_text_message(self, *, message_id: int) -> dict[str, Any]:
        """Show one text message.

        message_id: The message's id.
        Returns: {id, sender_number, receiver_number, body, is_read, sent_at}
        """
        m = self.row("phone_messages", message_id, "text message")
        m["is_read"] = bool(m["is_read"])
        return m

    @api("POST")
    def send_text_message(
        self, *, phone_number: Number, body: Annotated[str, Length(1, 1000)]
    ) -> dict[str, Any]:
        """Send a text message.

        phone_number: The receiver's phone number.
        body: The message text.
        Returns: {message_id}
        """
        mid = self.insert(
            "phone_messages",
            sender_number=self.user["phone_number"],
            receiver_number=phone_number,
            body=body,
            is_read=1,
            sent_at=self.stamp(),
        )
        return {"message_id": mid}

    @api("DELETE")
    def delete_text_message(self, *, message_id: int) -> dict[str, Any]:
        """Delete a text message.

        message_id: The message's id.
        Returns: {message}
        """
        self.row("phone_messages", message_id, "text message")
        self.delete("phone_messages", id=message_id)
        return {"message": "Text message deleted."}

    @api("PUT")
    def mark_text_message_read(self, *, message_id: int, is_read: bool = True) -> dict:
        """Mark a received text message as read (or unread).

        message_id: The message's id.
        is_read: True for read, False for unread.
        Returns: {message}
        """
        self.row("phone_messages", message_id, "text message")
        self.update("phone_messages", {"id": message_id}, is_read=int(is_read))
        return {"message": "Text message updated."}

    @api()
    def show_alarms(self) -> list[dict[str, Any]]:
        """Show your alarms.

        Returns: [{id, time, label, repeat_days, enabled}]
        """
        rows = self.rows(
            "SELECT id, time, label, repeat_days, enabled FROM phone_alarms ORDER BY id"
        )
        for r in rows:
            r["enabled"] = bool(r["enabled"])
            r["repeat_days"] = r["repeat_days"].split(",") if r["repeat_days"] else []
        return rows

    @api("POST")
    def create_alarm(
        self,
        *,
        time: Annotated[str, IsoTime()],
        label: Annotated[str, Length(0, 60)] = "",
        repeat_days: list[str] | None = None,
    ) -> dict[str, Any]:
        """Create an enabled alarm.

        time: Time of day.
        label: A label.
        repeat_days: Weekdays to repeat on, e.g. ["monday"]; None for once.
        Returns: {alarm_id}
        """
        days = repeat_days or []
        for d in days:
            if d not in WEEKDAYS:
                raise ApiError(422, f"repeat_days must hold weekdays {list(WEEKDAYS)}, got {d!r}")
        aid = self.insert(
            "phone_alarms",
            time=time,
            label=label,
            repeat_days=",".join(days),
            enabled=1,
            created_at=self.stamp(),
        )
        return {"alarm_id": aid}

    @api("PUT")
    def update_alarm(
        self,
        *,
        alarm_id: int,
        time: Annotated[str | None, IsoTime()] = None,
        label: str | None = None,
        enabled: bool | None = None,
    ) -> dict[str, Any]:
        """Change an alarm (fields left None are kept).

        alarm_id: The alarm's id.
        time: New time of day.
        label: New label.
        enabled: Turn the alarm on or off.
        Returns: {message}
        """
        self.row("phone_alarms", alarm_id, "alarm")
        new = {k: v for k, v in dict(time=time, label=label).items() if v is not None}
        if enabled is not None:
            new["enabled"] = int(enabled)
        if not new:
            raise ApiError(400, "give at least one field to change")
        self.update("phone_alarms", {"id": alarm_id}, **new)
        return {"message": "Alarm updated."}

    @api("DELETE")
    def delete_alarm(self, *, alarm_id: int) -> dict[str, Any]:
        """Delete an alarm.

        alarm_id: The alarm's id.
        Returns: {message}
        """
        self.row("phone_alarms", alarm_id, "alarm")
        self.delete("phone_alarms", id=alarm_id)
        return {"message": "Alarm deleted."}
