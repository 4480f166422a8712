"""``music``: a catalogue of artists, albums and songs; your playlists, likes, library,
downloads and followed artists."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, Length, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["GENRES", "Music"]

GENRES = ("pop", "rock", "jazz", "classical", "hip hop", "electronic", "folk", "country")
SONG = (
    "SELECT s.id, s.title, s.artist_id, a.name AS artist_name, s.album_id, s.genre, "
    "s.duration_seconds, s.play_count FROM music_songs s JOIN music_artists a ON a.id = s.artist_id"
)


class Music(AccountApp):
    name = "music"
    description = "A music catalogue and your playlists, liked songs, library and downloads."

    def _song(self, song_id: int) -> dict[str, Any]:
        r = self.rows(SONG + " WHERE s.id = ?", song_id)
        if not r:
            raise ApiError(404, f"no song with id {song_id}")
        return r[0]

    def _mine(self, table: str, col: str, stamp_col: str) -> list[dict[str, Any]]:
        return self.rows(
            SONG.replace(
                "FROM music_songs s", f"FROM {table} t JOIN music_songs s ON s.id = t.{col}"
            ).replace("SELECT ", f"SELECT t.{stamp_col}, ")
            + f" ORDER BY t.{stamp_col} DESC, s.id"
        )

    def _add(self, table: str, stamp_col: str, song_id: int, what: str) -> dict[str, Any]:
        self._song(song_id)
        if self.scalar(f"SELECT 1 FROM {table} WHERE song_id = ?", song_id):
            raise ApiError(409, f"song {song_id} is already {what}")
        self.insert(table, song_id=song_id, **{stamp_col: self.stamp()})
        return {"message": f"Song {what}."}

    def _remove(self, table: str, song_id: int, what: str) -> dict[str, Any]:
        self._song(song_id)
        if not self.delete(table, song_id=song_id):
            raise ApiError(404, f"song {song_id} is not {what}")
        return {"message": "Song removed."}

    def _playlist(self, playlist_id: int) -> dict[str, Any]:
        p = self.row("music_playlists", playlist_id, "playlist")
        p["is_public"] = bool(p["is_public"])
        return p

    @api(paginated=True)
    def search_songs(
        self,
        *,
        query: str = "",
        genre: str | None = None,
        artist_id: int | None = None,
        album_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Search the catalogue's songs by title or artist name.

        query: Text to match ("" matches all).
        genre: Only this genre.
        artist_id: Only songs by this artist.
        album_id: Only songs on this album.
        Returns: [{id, title, artist_id, artist_name, album_id, genre, duration_seconds, ...}]
        """
        q = like(query)
        sql = SONG + " WHERE (lower(s.title) LIKE ? OR lower(a.name) LIKE ?)"
        args: list[Any] = [q, q]
        for col, v in (("s.genre", genre), ("s.artist_id", artist_id), ("s.album_id", album_id)):
            if v is not None:
                sql += f" AND {col} = ?"
                args.append(v)
        return self.rows(sql + " ORDER BY s.id", *args)

    @api()
    def show_song(self, *, song_id: int) -> dict[str, Any]:
        """Show one song.

        song_id: The song's id.
        Returns: {id, title, artist_id, artist_name, album_id, genre, duration_seconds, play_count}
        """
        return self._song(song_id)

    @api(paginated=True)
    def search_artists(self, *, query: str = "", genre: str | None = None) -> list[dict]:
        """Search artists by name.

        query: Text to match ("" matches all).
        genre: Only this genre.
        Returns: [{id, name, genre, followers}]
        """
        sql, args = "SELECT * FROM music_artists WHERE lower(name) LIKE ?", [like(query)]
        if genre is not None:
            sql += " AND genre = ?"
            args.append(genre)
        return self.rows(sql + " ORDER BY id", *args)

    @api()
    def show_artist(self, *, artist_id: int) -> dict[str, Any]:
        """Show an artist with their album ids.

        artist_id: The artist's id.
        Returns: {id, name, genre, followers, album_ids}
        """
        a = self.row("music_artists", artist_id, "artist")
        a["album_ids"] = [
            r["id"]
            for r in self.rows(
                "SELECT id FROM music_albums WHERE artist_id=? ORDER BY id", artist_id
            )
        ]
        return a

    @api(paginated=True)
    def search_albums(self, *, query: str = "", artist_id: int | None = None) -> list[dict]:
        """Search albums by title.

        query: Text to match ("" matches all).
        artist_id: Only albums by this artist.
        Returns: [{id, title, artist_id, release_year}]
        """
        sql, args = "SELECT * FROM music_albums WHERE lower(title) LIKE ?", [like(query)]
        if artist_id is not None:
            sql += " AND artist_id = ?"
            args.append(artist_id)
        return self.rows(sql + " ORDER BY id", *args)

    @api()
    def show_album(self, *, album_id: int) -> dict[str, Any]:
        """Show an album with its song ids in track order.

        album_id: The album's id.
        Returns: {id, title, artist_id, release_year, song_ids}
        """
        a = self.row("music_albums", album_id, "album")
        a["song_ids"] = [
            r["id"]
            for r in self.rows("SELECT id FROM music_songs WHERE album_id=? ORDER BY id", album_id)
        ]
        return a

    @api(paginated=True)
    def show_playlists(self) -> list[dict[str, Any]]:
        """Show your playlists.

        Returns: [{id, title, is_public, created_at, song_count}]
        """
        rows = self.rows(
            "SELECT p.*, (SELECT COUNT(*) FROM music_playlist_songs x WHERE x.playlist_id = p.id)"
            " AS song_count FROM music_playlists p ORDER BY p.id"
        )
        for r in rows:
            r["is_public"] = bool(r["is_public"])
        return rows

    @api()
    def show_playlist(self, *, playlist_id: int) -> dict[str, Any]:
        """Show a playlist with its song ids in the order they were added.

        playlist_id: The playlist's id.
        Returns: {id, title, is_public, created_at, song_ids}
        """
        p = self._playlist(playlist_id)
        p["song_ids"] = [
            r["song_id"]
            for r in self.rows(
                "SELECT song_id FROM music_playlist_songs WHERE playlist_id = ? "
                "ORDER BY added_at, song_id",
                playlist_id,
            )
        ]
        return p

    @api("POST")
    def create_playlist(
        self, *, title: Annotated[str, Length(1, 60)], is_public: bool = False
    ) -> dict[str, Any]:
        """Create an empty playlist.

        title: The title.
        is_public: Whether others can see it.
        Returns: {playlist_id}
        """
        if self.scalar("SELECT 1 FROM music_playlists WHERE title = ?", title):
            raise ApiError(409, f"you already have a playlist titled {title!r}")
        pid = self.insert(
            "music_playlists", title=title, is_public=int(is_public), created_at=self.stamp()
        )
        return {"playlist_id": pid}

    @api("PUT")
    def rename_playlist(self, *, playlist_id: int, title: Annotated[str, Length(1, 60)]) -> dict:
        """Rename a playlist.

        playlist_id: The playlist's id.
        title: The new title.
        Returns: {message}
        """
        self._playlist(playlist_id)
        self.update("music_playlists", {"id": playlist_id}, title=title)
        return {"message": "Playlist renamed."}

    @api("DELETE")
    def delete_playlist(self, *, playlist_id: int) -> dict[str, Any]:
        """Delete a playlist.

        playlist_id: The playlist's id.
        Returns: {message}
        """
        self._playlist(playlist_id)
        self.delete("music_playlist_songs", playlist_id=playlist_id)
        self.delete("music_playlists", id=playlist_id)
        return {"message": "Playlist deleted."}

    @api("POST")
    def add_song_to_playlist(self, *, playlist_id: int, song_id: int) -> dict[str, Any]:
        """Add a song to the end of a playlist.

        playlist_id: The playlist's id.
        song_id: The song's id.
        Returns: {message}
        """
        self._playlist(playlist_id)
        self._song(song_id)
        if self.scalar(
            "SELECT 1 FROM music_playlist_songs WHERE playlist_id=? AND song_id=?",
            playlist_id,
            song_id,
        ):
            raise ApiError(409, f"song {song_id} is already in playlist {playlist_id}")
        self.insert(
            "music_playlist_songs", playlist_id=playlist_id, song_id=song_id, added_at=self.stamp()
        )
        return {"message": "Song added to playlist."}

    @api("DELETE")
    def remove_song_from_playlist(self, *, playlist_id: int, song_id: int) -> dict[str, Any]:
        """Remove a song from a playlist.

        playlist_id: The playlist's id.
        song_id: The song's id.
        Returns: {message}
        """
        self._playlist(playlist_id)
        if not self.delete("music_playlist_songs", playlist_id=playlist_id, song_id=song_id):
            raise ApiError(404, f"song {song_id} is not in playlist {playlist_id}")
        return {"message": "Song removed from playlist."}

    @api(paginated=True)
    def show_liked_songs(self) -> list[dict[str, Any]]:
        """Show the songs you liked, most recent first.

        Returns: [{liked_at, id, title, artist_id, artist_name, album_id, genre, ...}]
        """
        return self._mine("music_liked_songs", "song_id", "liked_at")

    @api("POST")
    def like_song(self, *, song_id: int) -> dict[str, Any]:
        """Like a song.

        song_id: The song's id.
        Returns: {message}
        """
        return self._add("music_liked_songs", "liked_at", song_id, "liked")

    @api("DELETE")
    def unlike_song(self, *, song_id: int) -> dict[str, Any]:
        """Remove a song from your liked songs.

        song_id: The song's id.
        Returns: {message}
        """
        return self._remove("music_liked_songs", song_id, "liked")

    @api(paginated=True)
    def show_library(self) -> list[dict[str, Any]]:
        """Show the songs in your library, most recently added first.

        Returns: [{added_at, id, title, artist_id, artist_name, album_id, genre, ...}]
        """
        return self._mine("music_library", "song_id", "added_at")

    @api("POST")
    def add_song_to_library(self, *, song_id: int) -> dict[str, Any]:
        """Add a song to your library.

        song_id: The song's id.
        Returns: {message}
        """
        return self._add("music_library", "added_at", song_id, "in your library")

    @api("DELETE")
    def remove_song_from_library(self, *, song_id: int) -> dict[str, Any]:
        """Remove a song from your library.

        song_id: The song's id.
        Returns: {message}
        """
        return self._remove("music_library", song_id, "in your library")

    @api(paginated=True)
    def show_downloaded_songs(self) -> list[dict[str, Any]]:
        """Show your downloaded songs, most recent first.

        Returns: [{downloaded_at, id, title, artist_id, artist_name, album_id, genre, ...}]
        """
        return self._mine("music_downloads", "song_id", "downloaded_at")

    @api("POST")
    def download_song(self, *, song_id: int) -> dict[str, Any]:
        """Download a song for offline listening.

        song_id: The song's id.
        Returns: {message}
        """
        return self._add("music_downloads", "downloaded_at", song_id, "downloaded")

    @api("DELETE")
    def delete_download(self, *, song_id: int) -> dict[str, Any]:
        """Delete a downloaded song from your device.

        song_id: The song's id.
        Returns: {message}
        """
        return self._remove("music_downloads", song_id, "downloaded")

    @api(paginated=True)
    def show_followed_artists(self) -> list[dict[str, Any]]:
        """Show the artists you follow.

        Returns: [{id, name, genre, followers}]
        """
        return self.rows(
            "SELECT a.* FROM music_followed_artists f JOIN music_artists a ON a.id = f.artist_id "
            "ORDER BY a.id"
        )

    @api("POST")
    def follow_artist(self, *, artist_id: int) -> dict[str, Any]:
        """Follow an artist.

        artist_id: The artist's id.
        Returns: {message}
        """
        self.row("music_artists", artist_id, "artist")
        if self.scalar("SELECT 1 FROM music_followed_artists WHERE artist_id = ?", artist_id):
            raise ApiError(409, f"you already follow artist {artist_id}")
        self.insert("music_followed_artists", artist_id=artist_id, followed_at=self.stamp())
        self.db.execute(
            "UPDATE music_artists SET followers = followers + 1 WHERE id = ?", (artist_id,)
        )
        return {"message": "Artist followed."}

    @api("DELETE")
    def unfollow_artist(self, *, artist_id: int) -> dict[str, Any]:
        """Stop following an artist.

        artist_id: The artist's id.
        Returns: {message}
        """
        self.row("music_artists", artist_id, "artist")
        if not self.delete("music_followed_artists", artist_id=artist_id):
            raise ApiError(404, f"you do not follow artist {artist_id}")
        self.db.execute(
            "UPDATE music_artists SET followers = followers - 1 WHERE id = ?", (artist_id,)
        )
        return {"message": "Artist unfollowed."}
