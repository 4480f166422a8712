"""``notes``: notes with titles, bodies and tags, and to-do items with due dates."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, IsoDate, Length, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["Notes"]

Title = Annotated[str, Length(1, 100)]


def _note(r: dict[str, Any]) -> dict[str, Any]:
    r["tags"] = r["tags"].split(",") if r["tags"] else []
    r["is_pinned"] = bool(r["is_pinned"])
    return r


def _todo(r: dict[str, Any]) -> dict[str, Any]:
    r["is_done"] = bool(r["is_done"])
    return r


class Notes(AccountApp):
    name = "notes"
    description = "Your notes (title, body, tags, pinning) and to-do lists with due dates."

    def _get(self, note_id: int) -> dict[str, Any]:
        return _note(self.row("notes_notes", note_id, "note"))

    @api(paginated=True)
    def search_notes(
        self, *, query: str = "", tag: str | None = None, is_pinned: bool | None = None
    ) -> list[dict[str, Any]]:
        """Search notes by text in the title or body, most recently updated first.

        query: Text to match ("" matches all).
        tag: Only notes with this tag.
        is_pinned: Only pinned (True) or unpinned (False) notes.
        Returns: [{id, title, tags, is_pinned, updated_at}] (no bodies; see show_note)
        """
        q = like(query)
        sql = (
            "SELECT id, title, tags, is_pinned, updated_at FROM notes_notes "
            "WHERE (lower(title) LIKE ? OR lower(body) LIKE ?)"
        )
        args: list[Any] = [q, q]
        if tag is not None:
            sql += " AND (',' || tags || ',') LIKE ?"
            args.append(f"%,{tag},%")
        if is_pinned is not None:
            sql += " AND is_pinned = ?"
            args.append(int(is_pinned))
        return [_note(r) for r in self.rows(sql + " ORDER BY updated_at DESC, id DESC", *args)]

    @api()
    def show_note(self, *, note_id: int) -> dict[str, Any]:
        """Show a note with its body.

        note_id: The note's id.
        Returns: {id, title, body, tags, is_pinned, created_at, updated_at}
        """
        return self._get(note_id)

    @api("POST")
    def create_note(self, *, title: Title, body: str = "", tags: list[str] | None = None) -> dict:
        """Create a note.

        title: The title.
        body: The text.
        tags: Tags, e.g. ["recipes"].
        Returns: {note_id}
        """
        now = self.stamp()
        nid = self.insert(
            "notes_notes",
            title=title,
            body=body,
            tags=",".join(tags or []),
            is_pinned=0,
            created_at=now,
            updated_at=now,
        )
        return {"note_id": nid}

    @api("PUT")
    def update_note(
        self,
        *,
        note_id: int,
        title: Annotated[str | None, Length(1, 100)] = None,
        body: str | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """Replace the title, body or tags of a note (fields left None are kept).

        note_id: The note's id.
        title: New title.
        body: New body (replaces the old one).
        tags: New tags (replace the old ones).
        Returns: {message}
        """
        self._get(note_id)
        new: dict[str, Any] = {
            k: v for k, v in dict(title=title, body=body).items() if v is not None
        }
        if tags is not None:
            new["tags"] = ",".join(tags)
        if not new:
            raise ApiError(400, "give at least one field to change")
        self.update("notes_notes", {"id": note_id}, **new, updated_at=self.stamp())
        return {"message": "Note updated."}

    @api("PUT")
    def append_to_note(self, *, note_id: int, text: Annotated[str, Length(1, 2000)]) -> dict:
        """Append a new line of text to the end of a note's body.

        note_id: The note's id.
        text: The line to add.
        Returns: {message}
        """
        n = self._get(note_id)
        body = f"{n['body']}\n{text}" if n["body"] else text
        self.update("notes_notes", {"id": note_id}, body=body, updated_at=self.stamp())
        return {"message": "Text appended."}

    @api("DELETE")
    def delete_note(self, *, note_id: int) -> dict[str, Any]:
        """Delete a note.

        note_id: The note's id.
        Returns: {message}
        """
        self._get(note_id)
        self.delete("notes_notes", id=note_id)
        return {"message": "Note deleted."}

    @api("PUT")
    def pin_note(self, *, note_id: int, is_pinned: bool = True) -> dict[str, Any]:
        """Pin (or unpin) a note.

        note_id: The note's id.
        is_pinned: True to pin, False to unpin.
        Returns: {message}
        """
        self._get(note_id)
        self.update(
            "notes_notes", {"id": note_id}, is_pinned=int(is_pinned), updated_at=self.stamp()
        )
        return {"message": "Note updated."}

    @api()
    def show_tags(self) -> list[str]:
        """List every tag used on your notes, sorted.

        Returns: [str]
        """
        tags = {
            t for (s,) in self.db.execute("SELECT tags FROM notes_notes") for t in s.split(",") if t
        }
        return sorted(tags)

    @api()
    def show_todo_lists(self) -> list[dict[str, Any]]:
        """List your to-do lists with their open item counts.

        Returns: [{list_name, open_items, done_items}]
        """
        return self.rows(
            "SELECT list_name, SUM(is_done = 0) AS open_items, SUM(is_done = 1) AS done_items "
            "FROM notes_todos GROUP BY list_name ORDER BY list_name"
        )

    @api(paginated=True)
    def show_todo_items(
        self,
        *,
        list_name: str | None = None,
        is_done: bool | None = None,
        due_before: Annotated[str | None, IsoDate()] = None,
    ) -> list[dict[str, Any]]:
        """Show to-do items ordered by due date (items without one last).

        list_name: Only this list.
        is_done: Only done (True) or open (False) items.
        due_before: Only items due strictly before this date.
        Returns: [{id, list_name, title, due_date, is_done, created_at, completed_at}]
        """
        sql, args = "SELECT * FROM notes_todos WHERE 1 = 1", []
        if list_name is not None:
            sql += " AND list_name = ?"
            args.append(list_name)
        if is_done is not None:
            sql += " AND is_done = ?"
            args.append(int(is_done))
        if due_before is not None:
            sql += " AND due_date IS NOT NULL AND due_date < ?"
            args.append(due_before)
        sql += " ORDER BY due_date IS NULL, due_date, id"
        return [_todo(r) for r in self.rows(sql, *args)]

    @api("POST")
    def add_todo_item(
        self,
        *,
        list_name: Annotated[str, Length(1, 50)],
        title: Title,
        due_date: Annotated[str | None, IsoDate()] = None,
    ) -> dict[str, Any]:
        """Add an open item to a to-do list (a new list name creates the list).

        list_name: The list, e.g. "groceries".
        title: What to do.
        due_date: When it is due.
        Returns: {todo_id}
        """
        tid = self.insert(
            "notes_todos",
            list_name=list_name,
            title=title,
            due_date=due_date,
            is_done=0,
            created_at=self.stamp(),
            completed_at=None,
        )
        return {"todo_id": tid}

    @api("PUT")
    def complete_todo_item(self, *, todo_id: int) -> dict[str, Any]:
        """Mark a to-do item as done.

        todo_id: The item's id.
        Returns: {message}
        """
        t = self.row("notes_todos", todo_id, "to-do item")
        if t["is_done"]:
            raise ApiError(409, f"to-do item {todo_id} is already done")
        self.update("notes_todos", {"id": todo_id}, is_done=1, completed_at=self.stamp())
        return {"message": "To-do item completed."}

    @api("PUT")
    def update_todo_item(
        self,
        *,
        todo_id: int,
        title: Annotated[str | None, Length(1, 100)] = None,
        due_date: Annotated[str | None, IsoDate()] = None,
        list_name: str | None = None,
    ) -> dict[str, Any]:
        """Change a to-do item (fields left None are kept).

        todo_id: The item's id.
        title: New title.
        due_date: New due date.
        list_name: Move it to this list.
        Returns: {message}
        """
        self.row("notes_todos", todo_id, "to-do item")
        new = {
            k: v
            for k, v in dict(title=title, due_date=due_date, list_name=list_name).items()
            if v is not None
        }
        if not new:
            raise ApiError(400, "give at least one field to change")
        self.update("notes_todos", {"id": todo_id}, **new)
        return {"message": "To-do item updated."}

    @api("DELETE")
    def delete_todo_item(self, *, todo_id: int) -> dict[str, Any]:
        """Delete a to-do item.

        todo_id: The item's id.
        Returns: {message}
        """
        self.row("notes_todos", todo_id, "to-do item")
        self.delete("notes_todos", id=todo_id)
        return {"message": "To-do item deleted."}
