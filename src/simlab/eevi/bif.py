"""A parser for the Bayesian Interchange Format (.bif, .bif.gz) of discrete Bayesian networks.

It reads ``variable`` blocks (state names in declared order), and ``probability ( X | P… )``
blocks made of ``(parent states…) p…;`` rows, a ``table p…;`` line or a ``default p…;`` line.
Every problem raises :class:`~simlab.core.errors.DataError` naming the file and the line: an
unknown variable or state, a row of the wrong length, a negative entry, a row that does not sum
to 1 (tolerance 1e-6), a parent configuration left without a row, or a directed cycle.

``table`` lines of a node with parents are read with the child's state as the slowest axis and
the parent configuration (last parent fastest) inside it, the convention of pgmpy's reader.

The packaged networks HEPAR II and DIAS are located inside the installed ``pgmpy`` wheel with
``importlib.util.find_spec`` (no import of pgmpy): see :func:`example_path`.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlab.core.errors import DataError

__all__ = ["BifNetwork", "example_path", "load_bif", "load_network", "parse_bif", "smooth"]

ROW_SUM_TOL = 1e-6

_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<lc>//[^\n]*)|(?P<bc>/\*.*?\*/)"
    r'|(?P<str>"[^"]*")|(?P<punct>[{}()\[\];,|])|(?P<word>[^\s{}()\[\];,|"]+)',
    re.S,
)


@dataclass(frozen=True)
class BifNetwork:
    """A parsed discrete Bayesian network.

    variables: names in declaration order. states[v]: state names in declared order.
    parents[v]: parent names in the order of the ``probability`` block.
    cpts[v]: float64 probabilities of shape ``(card(p1), …, card(pk), card(v))``; the last axis
    sums to 1. ``order``: the variables in a topological order (parents first, ties broken by
    declaration order). ``source``: the file it came from (for messages).
    """

    name: str
    variables: tuple[str, ...]
    states: dict[str, tuple[str, ...]]
    parents: dict[str, tuple[str, ...]]
    cpts: dict[str, np.ndarray]
    order: tuple[str, ...]
    source: str = "<string>"

    def card(self, v: str) -> int:
        return len(self.states[v])

    def children(self, v: str) -> tuple[str, ...]:
        return tuple(c for c in self.variables if v in self.parents[c])

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(v for v in self.variables if not self.parents[v])

    @property
    def leaves(self) -> tuple[str, ...]:
        return tuple(v for v in self.variables if not self.children(v))


class _Tokens:
    """Tokens with line numbers and a cursor; errors name the file and the line."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.toks: list[tuple[str, int]] = []
        line = 1
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:  # pragma: no cover - the word class matches any other character
                raise DataError(f"{source}: line {line}: cannot read {text[pos : pos + 20]!r}")
            kind = m.lastgroup
            tok = m.group()
            if kind in ("punct", "word", "str"):
                self.toks.append((tok, line))
            line += tok.count("\n")
            pos = m.end()
        self.i = 0

    def line(self) -> int:
        if self.i < len(self.toks):
            return self.toks[self.i][1]
        return self.toks[-1][1] if self.toks else 1

    def error(self, msg: str, line: int | None = None) -> DataError:
        return DataError(f"{self.source}: line {line or self.line()}: {msg}")

    def peek(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def next(self, what: str = "a token") -> str:
        if self.i >= len(self.toks):
            raise self.error(f"unexpected end of file, expected {what}")
        tok = self.toks[self.i][0]
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        got = self.next(repr(tok))
        if got != tok:
            self.i -= 1
            raise self.error(f"expected {tok!r}, found {got!r}")

    def word(self, what: str) -> str:
        tok = self.next(what)
        if tok in "{}()[];,|" or tok.startswith('"'):
            self.i -= 1
            raise self.error(f"expected {what}, found {tok!r}")
        return tok

    def skip_statement(self) -> None:
        """Skip to just after the next ';' (property lines)."""
        while self.next("';'") != ";":
            pass

    def number_list(self, what: str) -> list[float]:
        """Comma-separated numbers up to and including ';'."""
        out = []
        while True:
            tok = self.word(what)
            try:
                out.append(float(tok))
            except ValueError:
                self.i -= 1
                raise self.error(f"expected a probability, found {tok!r}") from None
            sep = self.next("',' or ';'")
            if sep == ";":
                return out
            if sep != ",":
                self.i -= 1
                raise self.error(f"expected ',' or ';' after a probability, found {sep!r}")


def parse_bif(text: str, source: str = "<string>") -> BifNetwork:
    """Parse BIF text into a :class:`BifNetwork`; ``source`` names the file in errors."""
    t = _Tokens(text, source)
    name = "unknown"
    states: dict[str, tuple[str, ...]] = {}
    decl_line: dict[str, int] = {}
    blocks: dict[str, tuple[tuple[str, ...], list, int]] = {}
    while t.peek() is not None:
        kw = t.next()
        if kw == "network":
            name = t.word("a network name")
            _skip_block(t)
        elif kw == "variable":
            line = t.line()
            v = t.word("a variable name")
            if v in states:
                raise t.error(f"variable {v!r} declared twice (first on line {decl_line[v]})")
            states[v] = _variable_block(t, v)
            decl_line[v] = line
        elif kw == "probability":
            line = t.line()
            child, parents = _probability_head(t)
            if child in blocks:
                raise t.error(f"second probability block for {child!r}", line)
            blocks[child] = (parents, _probability_body(t), line)
        else:
            raise t.error(f"expected 'network', 'variable' or 'probability', found {kw!r}")
    if not states:
        raise DataError(f"{source}: no variables declared")

    parents: dict[str, tuple[str, ...]] = {}
    cpts: dict[str, np.ndarray] = {}
    for child, (pa, rows, line) in blocks.items():
        for v in (child, *pa):
            if v not in states:
                raise t.error(f"probability block names undeclared variable {v!r}", line)
        if len(set(pa)) != len(pa) or child in pa:
            raise t.error(f"repeated variable in probability ( {child} | {', '.join(pa)} )", line)
        parents[child] = pa
        cpts[child] = _cpt(t, child, pa, rows, states, line)
    for v in states:
        if v not in blocks:
            raise DataError(
                f"{source}: line {decl_line[v]}: variable {v!r} has no probability block"
            )
    variables = tuple(states)
    order = _topological(variables, parents, source, {c: b[2] for c, b in blocks.items()})
    return BifNetwork(name, variables, states, parents, cpts, order, source)


def _skip_block(t: _Tokens) -> None:
    t.expect("{")
    depth = 1
    while depth:
        tok = t.next("'}'")
        depth += {"{": 1, "}": -1}.get(tok, 0)


def _variable_block(t: _Tokens, v: str) -> tuple[str, ...]:
    t.expect("{")
    found: tuple[str, ...] | None = None
    while (tok := t.next("'}'")) != "}":
        line = t.toks[t.i - 1][1]
        if tok == "property":
            t.skip_statement()
            continue
        if tok != "type":
            raise t.error(f"variable {v!r}: expected 'type' or 'property', found {tok!r}")
        kind = t.word("'discrete'")
        if kind != "discrete":
            raise t.error(f"variable {v!r}: only discrete variables are supported, got {kind!r}")
        t.expect("[")
        n_tok = t.word("the number of states")
        if not n_tok.isdigit():
            raise t.error(f"variable {v!r}: the number of states must be an integer: {n_tok!r}")
        t.expect("]")
        t.expect("{")
        names = [t.word("a state name")]
        while (sep := t.next("',' or '}'")) == ",":
            names.append(t.word("a state name"))
        if sep != "}":
            raise t.error(f"variable {v!r}: expected ',' or '}}' in the state list, found {sep!r}")
        t.expect(";")
        if len(names) != int(n_tok):
            raise t.error(f"variable {v!r}: declares {n_tok} states but lists {len(names)}", line)
        if len(set(names)) != len(names):
            raise t.error(f"variable {v!r}: repeated state name", line)
        found = tuple(names)
    if found is None:
        raise t.error(f"variable {v!r}: no 'type discrete' line")
    return found


def _probability_head(t: _Tokens) -> tuple[str, tuple[str, ...]]:
    t.expect("(")
    child = t.word("a variable name")
    parents: list[str] = []
    tok = t.next("'|' or ')'")
    if tok == "|":
        parents.append(t.word("a parent name"))
        while (tok := t.next("',' or ')'")) == ",":
            parents.append(t.word("a parent name"))
    if tok != ")":
        raise t.error(f"expected ')' to close probability ( {child} …, found {tok!r}")
    return child, tuple(parents)


def _probability_body(t: _Tokens) -> list:
    """[(kind, parent_states or None, values, line)] with kind in {'row', 'table', 'default'}."""
    t.expect("{")
    rows = []
    while (tok := t.peek()) != "}":
        line = t.line()
        if tok is None:
            raise t.error("unexpected end of file inside a probability block")
        if tok == "property":
            t.next()
            t.skip_statement()
        elif tok in ("table", "default"):
            t.next()
            rows.append((tok, None, t.number_list("a probability"), line))
        elif tok == "(":
            t.next()
            key = [t.word("a parent state")]
            while (sep := t.next("',' or ')'")) == ",":
                key.append(t.word("a parent state"))
            if sep != ")":
                raise t.error(f"expected ',' or ')' in a parent configuration, found {sep!r}")
            rows.append(("row", tuple(key), t.number_list("a probability"), line))
        else:
            raise t.error(f"expected '(parent states)', 'table' or 'default', found {tok!r}")
    t.expect("}")
    return rows


def _check_row(t: _Tokens, child: str, values, card: int, line: int, what: str) -> np.ndarray:
    row = np.asarray(values, dtype=np.float64)
    if row.shape != (card,):
        raise t.error(f"{child}: {what} has {row.size} probabilities, expected {card}", line)
    if not np.all(np.isfinite(row)) or np.any(row < 0):
        raise t.error(f"{child}: {what} has a negative or non-finite probability", line)
    if abs(row.sum() - 1.0) > ROW_SUM_TOL:
        raise t.error(f"{child}: {what} sums to {row.sum():.9g}, not 1", line)
    return row


def _cpt(t: _Tokens, child: str, pa: tuple, rows: list, states: dict, head: int) -> np.ndarray:
    card = len(states[child])
    pshape = tuple(len(states[p]) for p in pa)
    cpt = np.full((*pshape, card), np.nan)
    seen = np.zeros(pshape, dtype=bool)
    default = None
    for kind, key, values, line in rows:
        if kind == "default":
            default = _check_row(t, child, values, card, line, "the default row")
        elif kind == "table":
            n_cfg = int(np.prod(pshape, dtype=np.int64))
            if len(values) != n_cfg * card:
                raise t.error(
                    f"{child}: table has {len(values)} probabilities, expected "
                    f"{n_cfg * card} ({n_cfg} parent configurations x {card} states)",
                    line,
                )
            # child state slowest, parent configuration (last parent fastest) inside it.
            table = np.asarray(values, dtype=np.float64).reshape(card, n_cfg).T
            for j, row in enumerate(table):
                idx = np.unravel_index(j, pshape) if pshape else ()
                cpt[idx] = _check_row(t, child, row, card, line, "a table column")
            seen[...] = True
        else:
            if len(key) != len(pa):
                raise t.error(
                    f"{child}: row names {len(key)} parent states, expected {len(pa)}", line
                )
            idx = []
            for p, s in zip(pa, key):
                if s not in states[p]:
                    raise t.error(f"{child}: unknown state {s!r} of parent {p!r}", line)
                idx.append(states[p].index(s))
            idx_t = tuple(idx)
            if seen[idx_t]:
                raise t.error(f"{child}: parent configuration {key} given twice", line)
            cpt[idx_t] = _check_row(t, child, values, card, line, f"row {key}")
            seen[idx_t] = True
    if not seen.all():
        if default is None:
            missing = np.argwhere(~seen)[0] if pshape else ()
            names = tuple(states[p][i] for p, i in zip(pa, missing))
            raise t.error(f"{child}: no probabilities for parent configuration {names}", head)
        cpt[~seen] = default
    return cpt


def _topological(variables, parents, source, lines) -> tuple[str, ...]:
    """Kahn's algorithm, ties by declaration order; a cycle raises DataError."""
    pos = {v: i for i, v in enumerate(variables)}
    remaining = {v: set(parents[v]) for v in variables}
    children: dict[str, list[str]] = {v: [] for v in variables}
    for v in variables:
        for p in parents[v]:
            children[p].append(v)
    ready = sorted((v for v in variables if not remaining[v]), key=pos.get)
    order = []
    import heapq

    heap = [(pos[v], v) for v in ready]
    heapq.heapify(heap)
    while heap:
        _, v = heapq.heappop(heap)
        order.append(v)
        for c in children[v]:
            remaining[c].discard(v)
            if not remaining[c]:
                heapq.heappush(heap, (pos[c], c))
    if len(order) != len(variables):
        stuck = sorted((v for v in variables if remaining[v]), key=pos.get)
        raise DataError(
            f"{source}: line {lines[stuck[0]]}: the network has a directed cycle through "
            f"{', '.join(stuck[:6])}"
        )
    return tuple(order)


def load_bif(path: str | Path) -> BifNetwork:
    """Read a .bif or .bif.gz file (gzip detected by its magic bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read BIF file ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text") from None
    return parse_bif(text, str(path))


def example_path(name: str) -> Path:
    """Path of ``<name>.bif.gz`` shipped in the installed pgmpy wheel (pgmpy is not imported).

    DataError if pgmpy is not installed or ships no such network.
    """
    spec = importlib.util.find_spec("pgmpy")
    if spec is None or spec.origin is None:
        raise DataError(
            f"network {name!r}: the pgmpy package (which ships it) is not installed; "
            "pip install pgmpy, or pass a .bif path"
        )
    path = Path(spec.origin).parent / "utils" / "example_models" / f"{name}.bif.gz"
    if not path.is_file():
        raise DataError(f"network {name!r}: {path} does not exist in the installed pgmpy")
    return path


BUILTIN = Path(__file__).parent / "networks"


def load_network(name_or_path: str | Path, smoothing: float = 0.0) -> BifNetwork:
    """A network by name or path: ``"asia"`` is built in (no pgmpy needed); other bare names
    (``"hepar2"``, ``"diabetes"``, …) come from the pgmpy wheel; anything else is a file path.

    ``smoothing`` ε ≥ 0: see :func:`smooth`. The default 0 keeps the BIF values exactly."""
    s = str(name_or_path)
    if (BUILTIN / f"{s}.bif").is_file():
        net = load_bif(BUILTIN / f"{s}.bif")
    elif "/" not in s and not s.endswith((".bif", ".gz")):
        net = load_bif(example_path(s))
    else:
        net = load_bif(s)
    return smooth(net, smoothing) if smoothing else net


def smooth(net: BifNetwork, eps: float) -> BifNetwork:
    """Every CPT row p replaced by (p + ε) / Σ(p + ε) (probabilities, so ε is unitless).

    This is the rule of the authors' Gen transcription of DIAS (``diabetes_cpds.jl``: ε = 1e-10
    added before normalising). It removes zero entries, whose −inf likelihood-weighting weights
    make the entropy upper bound vacuous, at the price of a slightly different model (each
    entry moves by at most ε·card). Oracles must then use the same smoothed network.
    """
    from simlab.core.errors import ConfigError

    eps = float(eps)
    if not (eps >= 0.0 and np.isfinite(eps)):
        raise ConfigError(f"{net.source}: CPT smoothing must be a finite ε ≥ 0, got {eps}")
    if eps == 0.0:
        return net
    from dataclasses import replace

    cpts = {}
    for v, p in net.cpts.items():
        q = p + eps
        cpts[v] = q / q.sum(axis=-1, keepdims=True)
    return replace(net, cpts=cpts)
