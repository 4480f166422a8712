"""``api_docs``: descriptions and full documentation of every API, made from the registry."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import ApiError, App, api

__all__ = ["ApiDocs"]


def _short(text: str, compact: bool) -> str:
    if not compact:
        return text
    first = text.split(". ")[0].rstrip(".")
    return first[:80]


class ApiDocs(App):
    name = "api_docs"
    description = "Documentation of every app and API: read it before calling an API."

    def _app(self, app_name: str) -> str:
        if app_name not in self.backend.apps:
            raise ApiError(404, f"no app named {app_name!r}; apps: {', '.join(self.backend.apps)}")
        return app_name

    @api(auth=False)
    def show_app_descriptions(self, *, compact: bool = False) -> list[dict[str, Any]]:
        """List every app with a description.

        compact: Shorten the descriptions.
        Returns: [{name, description}]
        """
        return [
            {"name": n, "description": _short(a.description, compact)}
            for n, a in self.backend.apps.items()
        ]

    @api(auth=False)
    def show_api_descriptions(self, *, app_name: str, compact: bool = False) -> list[dict]:
        """List the APIs of one app with one-line descriptions.

        app_name: The app, e.g. "phone".
        compact: Shorten the descriptions.
        Returns: [{name, description}]
        """
        specs = self.backend.specs[self._app(app_name)]
        return [
            {"name": s.name, "description": _short(s.description, compact)} for s in specs.values()
        ]

    @api(auth=False)
    def show_api_doc(self, *, app_name: str, api_name: str, compact: bool = False) -> dict:
        """Show the full documentation of one API: parameters, types, constraints, response.

        app_name: The app, e.g. "phone".
        api_name: The API, e.g. "search_contacts".
        compact: Drop parameter descriptions and the failure text.
        Returns: {app_name, api_name, method, path, description, parameters, response}
        """
        specs = self.backend.specs[self._app(app_name)]
        if api_name not in specs:
            raise ApiError(
                404, f"app {app_name!r} has no API {api_name!r}; APIs: {', '.join(specs)}"
            )
        doc = specs[api_name].doc()
        if compact:
            for p in doc["parameters"]:
                del p["description"]
            doc["response"] = {"success": doc["response"]["success"]}
        return doc

    @api(auth=False)
    def search_api_docs(self, *, query: str) -> list[dict[str, Any]]:
        """Find APIs whose name or description contains every word of the query.

        query: Words to look for, e.g. "send message".
        Returns: [{app_name, api_name, description}] (at most 20)
        """
        words = query.lower().split()
        out = []
        for app, specs in self.backend.specs.items():
            for s in specs.values():
                text = f"{app} {s.name.replace('_', ' ')} {s.description}".lower()
                if all(w in text for w in words):
                    out.append({"app_name": app, "api_name": s.name, "description": s.description})
        return out[:20]
