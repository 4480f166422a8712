"""``files``: a small cloud drive of directories and text files addressed by absolute paths."""

from __future__ import annotations

import posixpath
from typing import Any

from simlab.agents.world.api import Annotated, ApiError, Length, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["Files"]

Path = Annotated[str, Length(1, 200)]


def norm(path: str, name: str = "path") -> str:
    """A normalised absolute path; raises 422 for relative or malformed paths."""
    if not path.startswith("/") or "//" in path or "\\" in path or ".." in path.split("/"):
        raise ApiError(
            422, f"{name} must be an absolute path like /documents/a.txt without '..', got {path!r}"
        )
    return posixpath.normpath(path)


class Files(AccountApp):
    name = "files"
    description = "Your cloud drive: directories and text files by absolute path."

    def _file(self, path: str) -> dict[str, Any]:
        p = norm(path)
        r = self.rows("SELECT * FROM files_files WHERE path = ?", p)
        if not r:
            raise ApiError(404, f"no file at {p}")
        return r[0]

    def _need_dir(self, path: str) -> None:
        d = posixpath.dirname(path)
        if d != "/" and not self.scalar("SELECT 1 FROM files_directories WHERE path = ?", d):
            raise ApiError(404, f"no directory {d}; create it with create_directory")

    def _free(self, p: str) -> None:
        if self.scalar("SELECT 1 FROM files_files WHERE path = ?", p) or self.scalar(
            "SELECT 1 FROM files_directories WHERE path = ?", p
        ):
            raise ApiError(409, f"{p} already exists")

    @api(paginated=True)
    def list_directory(self, *, path: Path = "/") -> list[dict[str, Any]]:
        """List the directories and files directly inside a directory, by name.

        path: The directory, e.g. "/documents".
        Returns: [{path, kind ("directory" or "file"), size}]
        """
        p = norm(path)
        if p != "/" and not self.scalar("SELECT 1 FROM files_directories WHERE path = ?", p):
            raise ApiError(404, f"no directory {p}")
        prefix = "/" if p == "/" else p + "/"
        out = []
        for kind, sql in (
            ("directory", "SELECT path, 0 AS size FROM files_directories"),
            ("file", "SELECT path, length(content) AS size FROM files_files"),
        ):
            for r in self.rows(sql + " WHERE path LIKE ? ORDER BY path", prefix + "%"):
                if "/" not in r["path"][len(prefix) :]:
                    out.append({"path": r["path"], "kind": kind, "size": r["size"]})
        return sorted(out, key=lambda r: r["path"])

    @api()
    def show_file(self, *, path: Path) -> dict[str, Any]:
        """Show a file with its content.

        path: The file's path.
        Returns: {path, content, created_at, updated_at}
        """
        f = self._file(path)
        f.pop("id")
        return f

    @api(paginated=True)
    def search_files(self, *, query: str) -> list[dict[str, Any]]:
        """Find files whose path or content contains the text.

        query: Text to match.
        Returns: [{path, size}]
        """
        q = like(query)
        return self.rows(
            "SELECT path, length(content) AS size FROM files_files "
            "WHERE lower(path) LIKE ? OR lower(content) LIKE ? ORDER BY path",
            q,
            q,
        )

    @api("POST")
    def create_file(self, *, path: Path, content: str = "") -> dict[str, Any]:
        """Create a text file (its directory must exist).

        path: The new file's path.
        content: The text.
        Returns: {path}
        """
        p = norm(path)
        self._free(p)
        self._need_dir(p)
        now = self.stamp()
        self.insert("files_files", path=p, content=content, created_at=now, updated_at=now)
        return {"path": p}

    @api("PUT")
    def update_file(self, *, path: Path, content: str) -> dict[str, Any]:
        """Replace the content of a file.

        path: The file's path.
        content: The new text.
        Returns: {message}
        """
        f = self._file(path)
        self.update("files_files", {"id": f["id"]}, content=content, updated_at=self.stamp())
        return {"message": "File updated."}

    @api("PUT")
    def append_to_file(self, *, path: Path, text: str) -> dict[str, Any]:
        """Append a line of text to a file.

        path: The file's path.
        text: The line to add.
        Returns: {message}
        """
        f = self._file(path)
        content = f"{f['content']}\n{text}" if f["content"] else text
        self.update("files_files", {"id": f["id"]}, content=content, updated_at=self.stamp())
        return {"message": "Text appended."}

    @api("PUT")
    def move_file(self, *, path: Path, new_path: Path) -> dict[str, Any]:
        """Move or rename a file.

        path: The file's path.
        new_path: Where it goes (its directory must exist).
        Returns: {path}
        """
        f = self._file(path)
        q = norm(new_path, "new_path")
        self._free(q)
        self._need_dir(q)
        self.update("files_files", {"id": f["id"]}, path=q, updated_at=self.stamp())
        return {"path": q}

    @api("POST")
    def copy_file(self, *, path: Path, new_path: Path) -> dict[str, Any]:
        """Copy a file.

        path: The file's path.
        new_path: The copy's path (its directory must exist).
        Returns: {path}
        """
        f = self._file(path)
        q = norm(new_path, "new_path")
        self._free(q)
        self._need_dir(q)
        now = self.stamp()
        self.insert("files_files", path=q, content=f["content"], created_at=now, updated_at=now)
        return {"path": q}

    @api("DELETE")
    def delete_file(self, *, path: Path) -> dict[str, Any]:
        """Delete a file.

        path: The file's path.
        Returns: {message}
        """
        f = self._file(path)
        self.delete("files_files", id=f["id"])
        return {"message": "File deleted."}

    @api("POST")
    def create_directory(self, *, path: Path) -> dict[str, Any]:
        """Create a directory (its parent must exist).

        path: The new directory's path.
        Returns: {path}
        """
        p = norm(path)
        if p == "/":
            raise ApiError(409, "/ already exists")
        self._free(p)
        self._need_dir(p)
        self.insert("files_directories", path=p, created_at=self.stamp())
        return {"path": p}

    @api("DELETE")
    def delete_directory(self, *, path: Path) -> dict[str, Any]:
        """Delete an empty directory.

        path: The directory's path.
        Returns: {message}
        """
        p = norm(path)
        if not self.scalar("SELECT 1 FROM files_directories WHERE path = ?", p):
            raise ApiError(404, f"no directory {p}")
        if self.scalar("SELECT 1 FROM files_files WHERE path LIKE ?", p + "/%") or self.scalar(
            "SELECT 1 FROM files_directories WHERE path LIKE ?", p + "/%"
        ):
            raise ApiError(409, f"directory {p} is not empty")
        self.delete("files_directories", path=p)
        return {"message": "Directory deleted."}
