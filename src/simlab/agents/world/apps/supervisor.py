"""``supervisor``: the user themself: profile, addresses, cards, passwords and the task."""

from __future__ import annotations

import json
from typing import Any

from simlab.agents.world.api import App, api

__all__ = ["Supervisor"]


class Supervisor(App):
    name = "supervisor"
    description = (
        "You, the user: your profile, addresses, payment cards, app passwords, and the task "
        "you must do (finish it with complete_task)."
    )

    @api(auth=False)
    def show_profile(self) -> dict[str, Any]:
        """Show your profile: name, e-mail, phone number, birthday and city.

        Returns: {first_name, last_name, email, phone_number, birthday, city}
        """
        return self.rows(
            "SELECT first_name, last_name, email, phone_number, birthday, city "
            "FROM supervisor_people WHERE id = 1"
        )[0]

    @api(auth=False)
    def show_addresses(self) -> list[dict[str, Any]]:
        """Show your saved addresses.

        Returns: [{id, name, street, city, zip_code}]
        """
        return self.rows("SELECT * FROM supervisor_addresses ORDER BY id")

    @api(auth=False)
    def show_payment_cards(self) -> list[dict[str, Any]]:
        """Show your payment cards.

        Returns: [{id, card_name, owner_name, card_number, expiry_date, cvv}]
        """
        return self.rows("SELECT * FROM supervisor_cards ORDER BY id")

    @api(auth=False)
    def show_account_passwords(self) -> list[dict[str, Any]]:
        """Show your passwords for every app account.

        Returns: [{account_name, password}]
        """
        return self.rows("SELECT account_name, password FROM supervisor_passwords ORDER BY id")

    @api(auth=False)
    def show_active_task(self) -> dict[str, Any]:
        """Show the task you are working on.

        Returns: {task_id, instruction, completed}
        """
        r = self.rows("SELECT task_id, instruction, completed FROM meta_task WHERE id = 1")
        if not r:
            return {"task_id": None, "instruction": None, "completed": False}
        return {**r[0], "completed": bool(r[0]["completed"])}

    @api("POST", auth=False, mutates=False)
    def complete_task(self, *, answer: Any = None) -> dict[str, Any]:
        """Mark the task as done; give the answer if the task asks a question.

        answer: The answer (text, number or list), or None when the task asks no question.
        Returns: {"message": str}
        """
        # Bookkeeping only: meta_task is not part of the tested state, so this is not a write.
        if self.scalar("SELECT COUNT(*) FROM meta_task") == 0:
            self.insert("meta_task", id=1, task_id=None, instruction=None, completed=0)
        self.update("meta_task", {"id": 1}, completed=1, answer=json.dumps(answer))
        return {"message": "Task marked as completed."}
