"""Amortised proposals q_φ(z; y) for the EEVI bounds on discrete Bayesian networks (spec §2 iv).

For targets Y of a network and latents Z (every other node), q_φ is autoregressive over Z in
topological order: q_φ(z; y) = Π_j Cat(z_j; softmax(f_j(x_j))), where x_j is the one-hot code of
y and of z_1..z_{j−1} (later latents are zero) and f_j is a one-hidden-layer tanh MLP. It can
represent p(z | y) exactly given enough hidden units, and it is > 0 everywhere, so the bounds
stay valid whatever φ (spec §4.1: the support condition holds).

Training maximises gen's ``sleep_objective`` E_{(z,y)∼p}[log q_φ(z; y)], i.e. minimises
E_y KL(p(·|y) ‖ q_φ) + H(Z|Y): exactly the K = 1 gap of the entropy lower bound (spec §2 d).
The trained network is then an ordinary simlab.gen GF ``proposal(params)`` called with
``(target,)``, usable as ``entropy_bounds(..., proposal=...)`` (ImportanceK, any K).
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from simlab.eevi.bn import BayesNet, CompiledBN
from simlab.gen import categorical_logits, gen, select, sleep_objective

__all__ = ["BNProposal", "ProposalParams", "train_sleep"]

_MASKED = -1e9  # logit of padding states: exp underflows to 0 without the NaN gradients of −inf


class ProposalParams(eqx.Module):
    """φ for L latent nodes, input width D, H hidden units, C = largest cardinality.

    w1 (L, H, D), b1 (L, H), w2 (L, C, H), b2 (L, C): float arrays."""

    w1: jax.Array
    b1: jax.Array
    w2: jax.Array
    b2: jax.Array


@dataclass(frozen=True, eq=False)
class BNProposal:
    """The structure of q_φ(z; y) for ``targets`` of ``bn`` (see the module docstring).

    ``inputs``: target node names (the observed y); ``latents``: the other nodes, topological.
    ``offset[name]``: start of the node's one-hot block in the input vector of width ``D``.
    """

    bn: CompiledBN
    inputs: tuple[str, ...]
    latents: tuple[str, ...]
    offset: dict
    D: int
    C: int

    @classmethod
    def for_targets(cls, bn: CompiledBN, targets) -> BNProposal:
        targets = tuple(targets)
        bn.idx(targets)  # unknown names raise DataError
        latents = tuple(v for v in bn.names if v not in targets)
        offset, d = {}, 0
        for v in targets + latents:
            offset[v] = d
            d += int(bn.card[bn.index[v]])
        return cls(bn, targets, latents, offset, d, int(bn.card.max()))

    def init(self, key, hidden: int = 32) -> ProposalParams:
        """Random φ (Glorot-scaled first layer; zero output layer, so q starts uniform)."""
        L = len(self.latents)
        w1 = jax.random.normal(key, (L, hidden, self.D)) * np.sqrt(2.0 / (self.D + hidden))
        f = jnp.result_type(float)
        return ProposalParams(
            w1.astype(f), jnp.zeros((L, hidden), f), jnp.zeros((L, self.C, hidden), f),
            jnp.zeros((L, self.C), f),
        )  # fmt: skip

    def _body(self, t, params: ProposalParams, y):
        """Sample the latents at their node names; ``y`` maps each input name to a state index."""
        f = params.w1.dtype
        x = jnp.zeros(self.D, f)
        for v in self.inputs:
            x = x.at[self.offset[v] + jnp.asarray(y[v], jnp.int32)].set(1.0)
        for j, v in enumerate(self.latents):  # a loop over nodes (static addresses), not particles
            h = jnp.tanh(params.w1[j] @ x + params.b1[j])
            logits = params.w2[j] @ h + params.b2[j]
            card = int(self.bn.card[self.bn.index[v]])
            logits = jnp.where(jnp.arange(self.C) < card, logits, _MASKED)
            z = t(v, categorical_logits, logits)
            x = x.at[self.offset[v] + z].set(1.0)

    @property
    def guide(self):
        """q_φ as a GF ``guide(params, obs)`` (gen.vi's convention; obs = ChoiceMap of y)."""
        return gen(lambda t, params, obs: self._body(t, params, obs), name="amortised_guide")

    def proposal(self, params: ProposalParams):
        """q_φ with φ fixed, as a GF called with ``(target,)``: the custom-proposal interface of
        ``ImportanceK`` / ``entropy_bounds`` (target.constraints holds y)."""
        return gen(lambda t, target: self._body(t, params, target.constraints),
                   name="amortised_q")  # fmt: skip

    def model(self) -> BayesNet:
        return BayesNet(self.bn)


def train_sleep(
    key,
    q: BNProposal,
    params: ProposalParams,
    steps: int = 500,
    batch: int = 64,
    lr: float = 3e-3,
    model=None,
    compiler_options: dict | None = None,
):
    """Fit φ by Adam on −sleep_objective (the cross-entropy E_{(z,y)∼p}[−log q_φ(z; y)], nats).

    ``batch`` joint samples per step; the whole loop is one ``lax.scan`` under ``jit``.
    Returns (params, losses (steps,)): each loss is an unbiased estimate of
    H(Z|Y) + E_y KL(p(·|y) ‖ q_φ) ≥ H(Z|Y) at the step's φ. ``compiler_options``: XLA
    options of the one compilation (tests use -O0).
    """
    model = q.model() if model is None else model
    observed = select(*q.inputs)
    guide = q.guide
    opt = optax.adam(lr)

    def loss(p, k):
        return -sleep_objective(k, model, guide, p, observed, (), K=batch)

    @jax.jit
    def run(params, key):
        def step(carry, k):
            p, s = carry
            val, g = jax.value_and_grad(loss)(p, k)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), val

        (p, _), losses = jax.lax.scan(
            step, (params, opt.init(params)), jax.random.split(key, steps)
        )
        return p, losses

    return run.lower(params, key).compile(compiler_options)(params, key)
