"""Shared pieces of the user apps: the login API and small query helpers."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import ApiError, App, api
from simlab.agents.world.rng import token_for

__all__ = ["AccountApp", "like"]


def like(query: str) -> str:
    """A case-insensitive SQL LIKE pattern matching ``query`` anywhere."""
    return "%" + query.replace("%", "").replace("_", "").lower() + "%"


class AccountApp(App):
    """An app with a user account: ``login`` returns the token its other APIs require."""

    @api("POST", auth=False, mutates=False)
    def login(self, *, username: str, password: str) -> dict[str, Any]:
        """Log in to this app and get an access token for its other APIs.

        username: Your account name: your e-mail address (your phone number for the phone app).
        password: Your password for this app, from supervisor.show_account_passwords.
        Returns: {"access_token": str, "token_type": "Bearer"}
        """
        expected_user = self.user[self.username_kind]
        stored = self.scalar(
            "SELECT password FROM supervisor_passwords WHERE account_name = ?", self.name
        )
        if username != expected_user or password != stored:
            raise ApiError(401, f"invalid username or password for {self.name}")
        token = token_for(self.backend.seed, self.name, username)
        return {"access_token": token, "token_type": "Bearer"}
