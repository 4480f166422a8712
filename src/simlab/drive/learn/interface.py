"""Framework-neutral policy files and a pure-NumPy forward pass (part of spec §11).

``export_policy(policy, path, meta)`` writes ``<path>.npz`` (weights, named by their place in
the network) and ``<path>.json`` (architecture, observation layout, Δt_train, user meta).
``DrivingPolicy.load(path)`` reads them back without JAX; ``DrivingPolicy.forward(obs)``
computes the same logits and value as the JAX network from NumPy observation blocks
(vectors ``[..., F]``; sets as ``(x [..., N, F], valid [..., N])`` pairs or ``SetBlock``s),
and ``act(obs, deterministic=True)`` returns action indices with their jerks (m/s³).

Observation blocks are those of ``simenv.to_blocks`` (route distances clipped, in 100 m). The
``Scene`` → ``Control`` side of §11 (lane polylines, agents and goals in any frame) is
``simlab.drive.learn.scene.ScenePolicy``, built on this class.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from simlab.core.checkpoint import atomic_write
from simlab.core.errors import DataError

__all__ = ["LAT_JERKS", "LONG_JERKS", "DrivingPolicy", "export_policy", "to_jax"]

LONG_JERKS = (-15.0, -4.0, 0.0, 4.0)  # m/s³, action index = 3·i_long + i_lat (spec §3.2)
LAT_JERKS = (-4.0, 0.0, 4.0)


def _net_arrays(net, prefix: str) -> dict[str, np.ndarray]:
    out = {}
    for name, enc in net.encoders.items():
        p = f"{prefix}/enc/{name}"
        out |= {f"{p}/w1": enc.inp.w, f"{p}/b1": enc.inp.b, f"{p}/g": enc.norm.g,
                f"{p}/beta": enc.norm.b, f"{p}/w2": enc.out.w, f"{p}/b2": enc.out.b}  # fmt: skip
    for i, layer in enumerate(net.backbone):
        out |= {f"{prefix}/bb{i}/w": layer.w, f"{prefix}/bb{i}/b": layer.b}
    out |= {f"{prefix}/head/w": net.head.w, f"{prefix}/head/b": net.head.b}
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def export_policy(policy, path: str | Path, dt_train: float, meta: dict | None = None) -> Path:
    """Write an ActorCritic as ``path.npz`` + ``path.json`` (atomically); returns the stem."""
    path = Path(path)
    arrays = _net_arrays(policy.actor, "actor") | _net_arrays(policy.critic, "critic")
    config = {
        "format": "simlab.drive.policy/1",
        "spec": {k: list(v) for k, v in policy.actor.spec.items()},
        "backbone_layers": len(policy.actor.backbone),
        "n_actions": int(policy.actor.head.w.shape[1]),
        "dt_train": float(dt_train),
        "actions": {"long_jerks": LONG_JERKS, "lat_jerks": LAT_JERKS, "index": "3*i_long+i_lat"},
        "meta": meta or {},
    }
    atomic_write(path.with_suffix(".npz"), lambda f: np.savez(f, **arrays))
    atomic_write(path.with_suffix(".json"), lambda f: f.write(json.dumps(config).encode()))
    return path


def _gelu(x):  # tanh approximation, as jax.nn.gelu(approximate=True)
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


class DrivingPolicy:
    """A policy loaded from ``export_policy`` files; NumPy only."""

    def __init__(self, arrays: dict[str, np.ndarray], config: dict):
        self.w = arrays
        self.config = config
        self.spec = {k: tuple(v) for k, v in config["spec"].items()}
        self.dt_train = config["dt_train"]

    @classmethod
    def load(cls, path: str | Path) -> DrivingPolicy:
        path = Path(path)
        npz, js = path.with_suffix(".npz"), path.with_suffix(".json")
        try:
            config = json.loads(js.read_text())
            with np.load(npz) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise DataError(f"policy {path}: cannot be read ({e})") from None
        if config.get("format") != "simlab.drive.policy/1":
            raise DataError(f"policy {js}: unknown format {config.get('format')!r}")
        return cls(arrays, config)

    def _net(self, prefix: str, obs: dict) -> np.ndarray:
        w = self.w
        parts = []
        for name in sorted(self.spec):
            kind, _ = self.spec[name]
            p = f"{prefix}/enc/{name}"
            block = obs[name]
            x = np.asarray(block[0] if kind == "set" else block, np.float32)
            h = x @ w[f"{p}/w1"] + w[f"{p}/b1"]
            mu = h.mean(-1, keepdims=True)
            var = np.square(h - mu).mean(-1, keepdims=True)
            h = (h - mu) / np.sqrt(var + 1e-5) * w[f"{p}/g"] + w[f"{p}/beta"]
            h = np.maximum(h, 0) @ w[f"{p}/w2"] + w[f"{p}/b2"]
            if kind == "set":
                valid = np.asarray(block[1], bool)
                pooled = np.where(valid[..., None], h, -np.inf).max(-2)
                h = np.where(valid.any(-1)[..., None], pooled, 0.0)
            parts.append(h)
        h = np.concatenate(parts, -1)
        for i in range(self.config["backbone_layers"]):
            h = _gelu(h @ w[f"{prefix}/bb{i}/w"] + w[f"{prefix}/bb{i}/b"])
        return h @ w[f"{prefix}/head/w"] + w[f"{prefix}/head/b"]

    def forward(self, obs: dict) -> tuple[np.ndarray, np.ndarray]:
        """(logits [..., 12], value [...]) for NumPy observation blocks."""
        return self._net("actor", obs), self._net("critic", obs)[..., 0]

    def act(self, obs: dict, deterministic: bool = True, rng=None):
        """(action [...] int, long jerk [...], lat jerk [...]) in m/s³."""
        logits, _ = self.forward(obs)
        if deterministic:
            a = logits.argmax(-1)
        else:
            rng = rng or np.random.default_rng()
            p = np.exp(logits - logits.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            u = rng.random((*p.shape[:-1], 1))
            a = (p.cumsum(-1) < u).sum(-1).clip(0, p.shape[-1] - 1)
        return a, np.asarray(LONG_JERKS)[a // 3], np.asarray(LAT_JERKS)[a % 3]


def to_jax(policy: DrivingPolicy):
    """The ``simlab.drive.learn.policy.ActorCritic`` (JAX) holding ``policy``'s weights, for
    jitted rollouts (e.g. rendering); its outputs equal ``policy.forward``."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from simlab.drive.learn.policy import PolicyConfig, make_policy

    w = policy.w
    first = sorted(policy.spec)[0]
    width = int(w[f"actor/enc/{first}/w1"].shape[1])
    backbone = tuple(
        int(w[f"actor/bb{i}/w"].shape[1]) for i in range(policy.config["backbone_layers"])
    )
    cfg = PolicyConfig(width, backbone, int(policy.config["n_actions"]))
    net = make_policy(policy.spec, cfg, jax.random.PRNGKey(0))

    def fill(n, prefix):
        leaves = []
        for name in sorted(n.encoders):
            p = f"{prefix}/enc/{name}"
            leaves += [w[f"{p}/{k}"] for k in ("w1", "b1", "g", "beta", "w2", "b2")]
        for i in range(len(n.backbone)):
            leaves += [w[f"{prefix}/bb{i}/w"], w[f"{prefix}/bb{i}/b"]]
        leaves += [w[f"{prefix}/head/w"], w[f"{prefix}/head/b"]]
        return leaves

    def where(n):
        out = []
        for name in sorted(n.encoders):
            e = n.encoders[name]
            out += [e.inp.w, e.inp.b, e.norm.g, e.norm.b, e.out.w, e.out.b]
        for layer in n.backbone:
            out += [layer.w, layer.b]
        return [*out, n.head.w, n.head.b]

    values = [jnp.asarray(x) for x in fill(net.actor, "actor") + fill(net.critic, "critic")]
    return eqx.tree_at(lambda m: where(m.actor) + where(m.critic), net, values)
