"""A time-sliced Bayesian network (DIAS) as a simlab.gen ``SequentialModel`` for SMC / cSMC.

Block t (t = 0..T−1) holds the nodes whose name ends in ``_t`` (``<type>_<t>``), plus the
nodes without an hour suffix (``cho_init``, ``ins_sens``) in block 0. Every block has the same
*slots*, one per node type, in an order where a node's in-block parents come first; a slot
whose type is absent in a block (``ins_abs`` at the last hour, ``ins_sens`` after block 0) is a
dummy with value 0 and log-probability 0.

The step GF's carry is ``(vals (n+1,) int32, observed (T,) bool)``: the values drawn so far and
which steps have the ``observed_type`` slot observed. That slot has two addresses so the latent
and the observed values never share one: ``observed_type`` (latent, 0 at observed steps) and
``observed_type + "_obs"`` (observed, 0 at latent steps). Observations for
:func:`simlab.gen.smc.smc` are then an ordinary per-step ChoiceMap, and the latents of an exact
joint draw form the retained trajectory of :func:`simlab.gen.smc.csmc`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simlab.eevi.bn import CompiledBN
from simlab.gen.choicemap import ChoiceMap, Masked, Selection, none
from simlab.gen.combinators import SequentialModel
from simlab.gen.errors import AddressError
from simlab.gen.gfi import EditResult, GenerativeFunction

__all__ = ["BlockStep", "sequential_bn", "trajectory"]


def _split(name: str) -> tuple[str, int | None]:
    head, _, tail = name.rpartition("_")
    return (head, int(tail)) if head and tail.isdigit() else (name, None)


class BlockStep(GenerativeFunction):
    """One time block of a compiled network; args ``(carry, t)``; returns the new carry."""

    accepts_particle_keys = False

    def __init__(self, bn: CompiledBN, observed_type: str = "bg", name: str = "bn_block"):
        self.bn = bn
        self.name = name
        self.obs_type = observed_type
        n = bn.n
        typed = {v: _split(v) for v in bn.names}
        T = 1 + max(s for _, s in typed.values() if s is not None)
        self.T = T
        # slot order: types by the first topological position of any of their nodes
        first: dict[str, int] = {}
        for i, v in enumerate(bn.names):
            first.setdefault(typed[v][0], i)
        # an in-block parent must come earlier: order by position within a middle block
        mid = 1 if T > 2 else 0
        pos_mid = {typed[v][0]: i for i, v in enumerate(bn.names) if typed[v][1] == mid}
        types = sorted(first, key=lambda ty: (pos_mid.get(ty, -1), first[ty]))
        self.types = tuple(types)
        slots = np.full((T, len(types)), n, np.int32)
        for i, v in enumerate(bn.names):
            ty, s = typed[v]
            slots[0 if s is None else s, types.index(ty)] = i
        self.slots = slots
        for t in range(T):  # check the slot order is topological inside every block
            seen = set()
            for j in range(len(types)):
                i = slots[t, j]
                if i == n:
                    continue
                for p in bn.parent_idx[i]:
                    if p < n and (slots[t] == p).any() and p not in seen:
                        raise ValueError(
                            f"block {t}: {bn.names[i]} before its parent {bn.names[p]}"
                        )
                seen.add(int(i))
        self.addresses = [(ty,) for ty in types] + [(observed_type + "_obs",)]

    def _lookup(self, a, constraints, old, resample):
        """(mask, value) of a given value at address a (mask may be traced); (False, 0) if none."""
        if a in constraints:
            c = constraints[a]
            if isinstance(c, Masked):
                return jnp.asarray(c.mask, bool), jnp.asarray(c.value, jnp.int32)
            return jnp.asarray(True), jnp.asarray(c, jnp.int32)
        if old is not None and a in old and not resample.contains(a):
            return jnp.asarray(True), jnp.asarray(old[a], jnp.int32)
        return jnp.asarray(False), jnp.zeros((), jnp.int32)

    def edit(
        self,
        key,
        args,
        *,
        old: ChoiceMap | None = None,
        constraints: ChoiceMap = ChoiceMap.empty(),
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old: bool = False,
    ) -> EditResult:
        bn = self.bn
        (vals, observed), t = args
        for cm in (constraints, old or ChoiceMap.empty()):
            for a in cm.addresses():
                if a not in self.addresses:
                    raise AddressError("not a slot of this block", a, self.name)
        if strict_old:
            for a in self.addresses:
                if a not in constraints and (old is None or a not in old):
                    raise AddressError("missing choice", a, self.name)
        f = jnp.result_type(float)
        log_table = jnp.asarray(bn.log_table, f)
        cdf = jnp.asarray(bn.cdf_table, f)
        pidx = np.concatenate([bn.parent_idx, np.full((1, bn.parent_idx.shape[1]), bn.n)])
        stride = np.concatenate([bn.parent_stride, np.zeros((1, bn.parent_stride.shape[1]))])
        offset = np.concatenate([bn.row_offset, np.zeros(1, np.int32)])
        card = np.concatenate([bn.card, np.ones(1, np.int32)])
        pidx, stride = jnp.asarray(pidx, jnp.int32), jnp.asarray(stride, jnp.int32)
        offset, card = jnp.asarray(offset), jnp.asarray(card)
        nodes = jnp.asarray(self.slots)[t]  # (S,)
        if key is None:
            u = jnp.ones(len(self.types), f)
        else:
            u = 1.0 - jax.random.uniform(key, (len(self.types),), f)  # (0, 1]
        is_obs = observed[t]
        zero = jnp.zeros((), f)
        score = weight = measured = zero
        choices = {}
        for j, ty in enumerate(self.types):
            node = nodes[j]
            dummy = node == bn.n
            row = offset[node] + jnp.sum(vals[pidx[node]] * stride[node])
            fresh = jnp.minimum(jnp.sum(cdf[row] < u[j]).astype(jnp.int32), card[node] - 1)
            if ty == self.obs_type:
                m_lat, v_lat = self._lookup((ty,), constraints, old, resample)
                m_obs, v_obs = self._lookup((ty + "_obs",), constraints, old, resample)
                given = jnp.where(is_obs, m_obs, m_lat)
                value = jnp.where(given, jnp.where(is_obs, v_obs, v_lat), fresh)
            else:
                given, v = self._lookup((ty,), constraints, old, resample)
                value = jnp.where(given, v, fresh)
            value = jnp.where(dummy, 0, value)
            lp = jnp.where(dummy, zero, log_table[row, value])
            score = score + lp
            weight = weight + jnp.where(given | dummy, lp, zero)
            if ty == self.obs_type:
                meas = jnp.where(is_obs, measure.contains((ty + "_obs",)), measure.contains((ty,)))
                measured = measured + jnp.where(meas, lp, zero)
                choices[(ty,)] = jnp.where(is_obs, 0, value)
                choices[(ty + "_obs",)] = jnp.where(is_obs, value, 0)
            else:
                measured = measured + (lp if measure.contains((ty,)) else zero)
                choices[(ty,)] = value
            vals = vals.at[node].set(value)
        return EditResult(
            ChoiceMap._trusted(choices),
            (vals, observed),
            score,
            weight,
            measured,
            ChoiceMap.empty(),
        )


def sequential_bn(bn: CompiledBN, observed_type: str = "bg") -> SequentialModel:
    """The network as ``SequentialModel(None, BlockStep(bn), T)``; its argument is the initial
    carry ``(zeros (n+1,) int32, observed (T,) bool)``."""
    step = BlockStep(bn, observed_type)
    return SequentialModel(None, step, step.T, name="seq_" + step.name)


def trajectory(step: BlockStep, vals, observed, obs_types=()):
    """Split a full joint assignment vals (n,) into the SequentialModel's per-step
    (latents, observations), ChoiceMaps with (T,) leaves (no ("steps",) prefix).

    ``observed`` (T,) bool: steps whose ``obs_type`` slot is observed. ``obs_types``: slot
    types observed at every step (background such as meal/ins_abs, or ins_sens)."""
    vals = jnp.asarray(vals, jnp.int32)
    full = jnp.concatenate([vals, jnp.zeros(1, jnp.int32)])
    slot_vals = full[jnp.asarray(step.slots)]  # (T, S)
    observed = jnp.asarray(observed, bool)
    lat, obs = {}, {}
    for j, ty in enumerate(step.types):
        v = slot_vals[:, j]
        if ty == step.obs_type:
            lat[(ty,)] = jnp.where(observed, 0, v)
            obs[(ty + "_obs",)] = jnp.where(observed, v, 0)
        elif ty in obs_types:
            obs[(ty,)] = v
        else:
            lat[(ty,)] = v
    return ChoiceMap(lat), ChoiceMap(obs)
