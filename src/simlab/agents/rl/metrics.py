"""The paper's behavioural metrics of agent episodes (spec §5; LOOP §5.5, App. A.1, Figs. 3, 5).

An episode is a list of turns ``(agent_text, response)``: what the agent wrote and what the
environment answered (``None`` when the response is unknown). ``episode_turns`` builds it from
a chat (system, user, assistant, user, ...) plus the responses kept by the rollout.

Per set of N episodes:

* ``turns``: agent turns per episode;
* ``code_chars``: characters inside ```` ```python ```` / ```` ```py ```` blocks ÷ episodes;
* ``multi_cell_turns``: turns with more than one code block ÷ all turns;
* ``exec_errors_per_turn``: responses containing ``Execution failed.`` ÷ turns;
* ``api_doc_lookups``: occurrences of ``apis.api_docs.show_api_doc`` in code ÷ episodes;
* ``assum``: matches of ``\\bassum(e|ed|ing)\\b`` in agent text (case-insensitive) ÷ episodes;
* ``dummy``: matches of ``\\bdummy`` in agent text ÷ episodes;
* ``give_up_rate``: ``(failed − recovered) / failed`` over all episodes (see ``give_up``;
  ``None`` when no call failed).

``diversity`` counts distinct API-call sequences among one task's successful episodes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

__all__ = [
    "Turn",
    "api_calls",
    "behaviour",
    "code_blocks",
    "diversity",
    "episode_turns",
    "give_up",
]

Turn = tuple[str, str | None]

_BLOCK = re.compile(r"```(?:python|py)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_API_DOC = re.compile(r"apis\.api_docs\.show_api_doc\b")
_ASSUM = re.compile(r"\bassum(?:e|ed|ing)\b", re.IGNORECASE)
_DUMMY = re.compile(r"\bdummy", re.IGNORECASE)
_CALL = re.compile(r"\bapis\s*\.\s*(\w+)\s*\.\s*(\w+)\s*\(")
FAILED = "Execution failed."


def code_blocks(text: str) -> list[str]:
    """The code of each ```` ```python ```` / ```` ```py ```` block (an unclosed last one too),
    as the environment runs them."""
    return [m.group(1) for m in _BLOCK.finditer(text)]


def api_calls(code: str) -> list[str]:
    """Endpoints ``app.api`` called as ``apis.<app>.<api>(...)``, in source order.

    Parsed with ``ast`` (so strings and comments do not count); code that does not parse
    falls back to a regular expression.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [f"{a}.{b}" for a, b in _CALL.findall(code)]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            app = node.func.value
            if (
                isinstance(app, ast.Attribute)
                and isinstance(app.value, ast.Name)
                and app.value.id == "apis"
            ):
                found.append((node.lineno, node.col_offset, f"{app.attr}.{node.func.attr}"))
    return [name for *_, name in sorted(found)]


def episode_turns(messages: Sequence[dict], responses: Sequence[str] | None = None) -> list[Turn]:
    """Turns of a chat: each assistant message with the response that followed it.

    ``responses`` (one per assistant message) override the chat's user messages; without them
    the user message after each assistant message is its response (``None`` for the last one
    if the chat ends with the agent).
    """
    turns: list[Turn] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        turns.append((m["content"], nxt["content"] if nxt and nxt["role"] == "user" else None))
    if responses is not None:
        if len(responses) != len(turns):
            raise ValueError(f"{len(responses)} responses for {len(turns)} agent turns")
        turns = [(t, r) for (t, _), r in zip(turns, responses)]
    return turns


def give_up(turns: Sequence[Turn]) -> tuple[int, int]:
    """(failed, recovered) endpoint counts of one episode (spec §5).

    S holds endpoints that failed and were not yet retried successfully. A turn whose response
    is an execution error adds its endpoints to S (``failed`` += newly added); any other turn
    removes its endpoints from S (``recovered`` += removed). Turns with unknown responses are
    skipped.
    """
    pending: set[str] = set()
    failed = recovered = 0
    for text, response in turns:
        if response is None:
            continue
        endpoints = {e for code in code_blocks(text) for e in api_calls(code)}
        if FAILED in response:
            failed += len(endpoints - pending)
            pending |= endpoints
        else:
            recovered += len(pending & endpoints)
            pending -= endpoints
    return failed, recovered


def behaviour(episodes: Sequence[Sequence[Turn] | Sequence[dict]]) -> dict[str, float | None]:
    """The metrics of the module docstring over ``episodes`` (turn lists or chats)."""
    eps = [episode_turns(e) if e and isinstance(e[0], dict) else list(e) for e in episodes]
    n = len(eps)
    turns = [t for e in eps for t in e]
    blocks = [code_blocks(text) for text, _ in turns]
    known = [r for _, r in turns if r is not None]
    failed = recovered = 0
    for e in eps:
        f, r = give_up(e)
        failed, recovered = failed + f, recovered + r
    per_ep = max(1, n)
    return {
        "episodes": float(n),
        "turns": len(turns) / per_ep,
        "code_chars": sum(len(c) for b in blocks for c in b) / per_ep,
        "multi_cell_turns": sum(len(b) > 1 for b in blocks) / max(1, len(turns)),
        "exec_errors_per_turn": sum(FAILED in r for r in known) / max(1, len(known)),
        "api_doc_lookups": sum(len(_API_DOC.findall(c)) for b in blocks for c in b) / per_ep,
        "assum": sum(len(_ASSUM.findall(text)) for text, _ in turns) / per_ep,
        "dummy": sum(len(_DUMMY.findall(text)) for text, _ in turns) / per_ep,
        "failed_calls": float(failed),
        "recovered_calls": float(recovered),
        "give_up_rate": (failed - recovered) / failed if failed else None,
    }


def diversity(successes: Sequence[Sequence[Turn]]) -> tuple[int, int]:
    """(distinct API-call sequences, successful episodes) for one task's successes."""
    seqs = {
        tuple(e for text, _ in ep for code in code_blocks(text) for e in api_calls(code))
        for ep in successes
    }
    return len(seqs), len(successes)
