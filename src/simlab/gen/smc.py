"""Sequential Monte Carlo and conditional SMC over a :class:`SequentialModel`.

Particle state = carry + per-step choices. The whole run is one ``lax.scan`` over steps with
particles vmapped (shared-base ParticleKeys), ancestors recorded per step and lineages traced
back once at the end (O(N·T)); resampling is O(N log N).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from simlab.gen import logmath, rng
from simlab.gen.choicemap import ChoiceMap, select
from simlab.gen.combinators import SequentialModel
from simlab.gen.pytree import pytree_dataclass
from simlab.gen.resampling import multinomial, resample
from simlab.gen.sp import SPDistribution, Target, estimate_logpdf, random_weighted

__all__ = ["SMCAlgorithm", "SMCResult", "csmc", "smc"]


@pytree_dataclass
class SMCResult:
    """Output of :func:`smc` / :func:`csmc`.

    ``log_z_hat``: for ``smc``, E[exp(log_z_hat)] = Z (so E[·] ≤ log Z); for ``csmc`` this field
    is ``log_z_hat_recip`` semantics, E[exp(−·)] = 1/Z (so E[·] ≥ log Z) - use the
    ``log_z_hat_recip`` property there. ``log_weights`` (N,): final weights since the last
    resampling. ``trajectories``: model ChoiceMap (``("init", ...)``, ``("steps", ...)``) with
    leading axis N (step leaves (N, T, ...)), observations included. ``carries`` (N, ...): final
    carries. ``ess`` (T,): ESS before each step's resampling decision (step 0: N).
    ``resampled`` (T,) bool. ``n_neg_inf``: final weights equal to −inf.
    """

    log_z_hat: Any
    log_weights: Any
    trajectories: ChoiceMap
    carries: Any
    ess: Any
    resampled: Any
    n_neg_inf: Any

    @property
    def log_z_hat_recip(self):
        """The cSMC estimate (E[exp(−·)] = 1/Z); same array as ``log_z_hat``."""
        return self.log_z_hat


def _take(tree, idx):
    return jax.tree_util.tree_map(lambda a: a[idx], tree)


def _set_last(tree, value):
    return jax.tree_util.tree_map(lambda a, v: a.at[-1].set(jnp.asarray(v, a.dtype)), tree, value)


def _run(
    key,
    model: SequentialModel,
    obs: ChoiceMap,
    N: int,
    args: tuple,
    proposal,
    ess_threshold: float,
    resampling: str,
    rejuvenation,
    retained: ChoiceMap | None,
) -> SMCResult:
    T = model.T
    args = tuple(args)
    obs_sel = select(*obs.addresses())
    k_init, k_steps = jax.random.split(rng.raw(key))
    pkeys, paxes = rng.particle_keys(k_init, N)

    # step 0 of the particle state: the init GF (no observations)
    init = jax.vmap(lambda k: model.init(k, args), in_axes=(paxes,))(pkeys)
    init_choices, carry = init.choices, init.retval
    if retained is not None:
        r0 = model.init(None, args, old=retained.sub("init"), strict_old=True)
        init_choices = _set_last(init_choices, r0.choices)
        carry = _set_last(carry, r0.retval)
        ret_steps = retained.sub("steps")
    else:
        ret_steps = None

    def extend(k, c, t, obs_t):
        """One particle: (choices_t, carry', incremental log w)."""
        if proposal is None:
            r = model.step(k, c, t, constraints=obs_t)
            return r.choices, r.retval, r.weight
        z, log_q = random_weighted(proposal, k, c, t, obs_t)
        r = model.step(None, c, t, old=z | obs_t, strict_old=True)
        return r.choices, r.retval, r.score - log_q

    def extend_given(k, c, t, obs_t, z):
        """The retained particle: the same incremental formula, weight of a given z."""
        if proposal is None:
            r = model.step(None, c, t, old=z | obs_t, measure=obs_sel, strict_old=True)
            return r.choices, r.retval, r.measured
        r = model.step(None, c, t, old=z | obs_t, strict_old=True)
        return r.choices, r.retval, r.score - estimate_logpdf(proposal, k, z, c, t, obs_t)

    def body(state, inp):
        carry, log_w, log_z = state
        t, obs_t, z_t = inp
        kt = jax.random.fold_in(k_steps, t)
        k_res, k_rej, k_ext = jax.random.split(kt, 3)
        ess = logmath.ess(log_w)
        do = (t > 0) & ((ess < ess_threshold * N) | (ess_threshold >= 1.0))

        def resample_now(args_):
            carry, log_w, log_z = args_
            if retained is None:
                anc = resample(resampling, k_res, log_w, N)
            else:  # conditional multinomial: N−1 free ancestors from all N; last keeps its own
                anc = multinomial(k_res, log_w, N).at[-1].set(N - 1)
            new_carry = _take(carry, anc)
            if rejuvenation is not None:
                rk = jax.random.split(k_rej, N)
                rejuv = jax.vmap(lambda k, c: rejuvenation(k, c, t))(rk, new_carry)
                if retained is not None:  # the retained particle is kept as is
                    rejuv = _set_last(rejuv, _take(new_carry, -1))
                new_carry = rejuv
            return new_carry, jnp.zeros_like(log_w), log_z + logmath.logmeanexp(log_w), anc

        def keep(args_):
            carry, log_w, log_z = args_
            return carry, log_w, log_z, jnp.arange(N, dtype=jnp.int32)

        carry, log_w, log_z, anc = jax.lax.cond(do, resample_now, keep, (carry, log_w, log_z))
        prev_last = _take(carry, -1)
        ek, eaxes = rng.particle_keys(k_ext, N)
        choices_t, carry, inc = jax.vmap(extend, in_axes=(eaxes, 0, None, None))(
            ek, carry, t, obs_t
        )
        if retained is not None:  # slot N−1 holds z*_t, weighted by the same formula
            cz, cc, cw = extend_given(jax.random.fold_in(k_ext, N), prev_last, t, obs_t, z_t)
            choices_t = _set_last(choices_t, cz)
            carry = _set_last(carry, cc)
            inc = inc.at[-1].set(cw)
        return (carry, log_w + inc, log_z), (choices_t, anc, ess, do)

    xs = (jnp.arange(T, dtype=jnp.int32), obs, ret_steps)
    log_w0 = jnp.zeros(N, jnp.result_type(float))
    (carry, log_w, log_z), (choices, anc, ess, did) = jax.lax.scan(
        body, (carry, log_w0, jnp.zeros((), log_w0.dtype)), xs
    )
    log_z = log_z + logmath.logmeanexp(log_w)

    # trace lineages back: particle i at the end descends from anc_T[...] at earlier steps
    def back(idx, inp):
        choices_t, anc_t = inp
        return anc_t[idx], _take(choices_t, idx)

    idx0, steps = jax.lax.scan(back, jnp.arange(N, dtype=jnp.int32), (choices, anc), reverse=True)
    steps = jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), steps)  # (N, T, ...)
    traj = model.trajectory(_take(init_choices, idx0), steps)
    n_inf = jnp.sum(log_w == -jnp.inf)
    return SMCResult(log_z, log_w, traj, carry, ess, did, n_inf)


def _check(model, obs, N, ess_threshold):
    if not isinstance(model, SequentialModel):
        raise TypeError(f"smc needs a SequentialModel, got {type(model).__name__}")
    if N < 1 or not 0.0 <= ess_threshold <= 1.0:
        raise ValueError(f"need N ≥ 1 and 0 ≤ ess_threshold ≤ 1 (got N={N}, {ess_threshold})")
    for a, v in obs.items():
        lead = jnp.shape(v.value if hasattr(v, "mask") else v)[:1]
        if lead != (model.T,):
            raise ValueError(
                f"observation {a!r} must have leading axis T={model.T}, got shape {jnp.shape(v)}"
            )


def smc(
    key,
    model: SequentialModel,
    obs_per_step: ChoiceMap,
    N: int,
    proposal=None,
    ess_threshold: float = 0.5,
    resampling: str = "systematic",
    rejuvenation=None,
    args: tuple = (),
) -> SMCResult:
    """Particle filter over ``model`` with N particles; returns :class:`SMCResult`.

    ``obs_per_step``: ChoiceMap of step addresses, leaves (T, ...) (Masked for missing).
    ``args``: the init GF's args (keyword). ``proposal``: None (``step_gf.generate`` with the step's
    observations) or a GF/SP over the step's latent choices called with (carry, t, obs_t);
    incremental log w = log p(z_t, y_t | carry) − log q̂(z_t). Before steps t ≥ 1, if
    ESS < ess_threshold·N: log Ẑ += logmeanexp(log w), resample (``resampling``: systematic,
    multinomial, stratified, residual), zero the weights, then apply ``rejuvenation(key, carry,
    t) -> carry`` per particle. Rejuvenation acts on the carry only: it must leave the carry's
    marginal under the current target π_{t−1} invariant, the future must depend on the past
    through the carry alone, and it does not rewrite the recorded trajectories (use it when the
    carry holds no recorded choice, or when only log Ẑ and final carries matter).
    Finally log Ẑ += logmeanexp(log w).
    Guarantee: E[exp(log_z_hat)] = Z = p(obs; args), so E[log_z_hat] ≤ log Z.
    ``ess_threshold=0``: sequential IS; ``1``: resample at every step.
    """
    _check(model, obs_per_step, N, ess_threshold)
    return _run(
        key, model, obs_per_step, N, args, proposal, ess_threshold, resampling, rejuvenation, None
    )


def csmc(
    key,
    model: SequentialModel,
    obs_per_step: ChoiceMap,
    N: int,
    retained: ChoiceMap,
    proposal=None,
    ess_threshold: float = 0.5,
    rejuvenation=None,
    args: tuple = (),
) -> SMCResult:
    """Conditional SMC: slot N−1 holds the retained trajectory z* at every step.

    ``retained``: latent ChoiceMap of the full model (``("init", ...)``, ``("steps", ...)``
    with leaves (T, ...)), which must be an exact draw from the final target for the guarantee.
    All N weights use the same incremental formula and enter the ESS test, the log Ẑ
    increments and the final logmeanexp; on resampling the N−1 free ancestors are drawn
    multinomially from all N (the retained one may be copied) and slot N−1 keeps its own; all
    weights then reset to 0. Guarantee: E[exp(−log_z_hat_recip)] = 1/Z, so
    E[log_z_hat_recip] ≥ log Z (read ``result.log_z_hat_recip``).
    """
    _check(model, obs_per_step, N, ess_threshold)
    if N < 2:
        raise ValueError("csmc needs N ≥ 2 (one retained and at least one free particle)")
    return _run(
        key,
        model,
        obs_per_step,
        N,
        args,
        proposal,
        ess_threshold,
        "multinomial",
        rejuvenation,
        retained,
    )


class SMCAlgorithm(SPDistribution):
    """SMC as an SP over the latents z of a Target whose ``gen_fn`` is ``model``.

    The Target's constraints must sit under ``("steps", ...)`` with leaves (T, ...).
    ``random_weighted`` runs SMC, picks a final particle ∝ w and returns
    (z, log γ(z) − log Ẑ_SMC); ``estimate_logpdf(z*)`` runs cSMC retaining z* and returns
    log γ(z*) − log Ẑ_cSMC (E[exp] = the density of SMC's output, as for ImportanceK).
    """

    def __init__(
        self,
        model: SequentialModel,
        N: int,
        ess_threshold: float = 0.5,
        resampling: str = "systematic",
        proposal=None,
        rejuvenation=None,
    ):
        self.model = model
        self.N = int(N)
        self.ess_threshold = ess_threshold
        self.resampling = resampling
        self.proposal = proposal
        self.rejuvenation = rejuvenation
        self.name = f"SMCAlgorithm(N={self.N})"

    def _obs(self, target: Target) -> ChoiceMap:
        if target.gen_fn is not self.model:
            raise ValueError("SMCAlgorithm: the target's gen_fn is not this algorithm's model")
        extra = [a for a in target.constraints.addresses() if a[:1] != ("steps",)]
        if extra:
            raise ValueError(f"SMCAlgorithm: constraints outside ('steps', ...): {extra}")
        return target.constraints.sub("steps")

    def random_weighted(self, key, target: Target):
        """(z, log γ(z) − log Ẑ_SMC): E[exp(−log_w) | z] = 1/q_SMC(z)."""
        k1, k2 = jax.random.split(rng.raw(key))
        res = smc(
            k1,
            self.model,
            self._obs(target),
            self.N,
            proposal=self.proposal,
            ess_threshold=self.ess_threshold,
            resampling=self.resampling,
            rejuvenation=self.rejuvenation,
            args=target.args,
        )
        j = jax.random.categorical(k2, res.log_weights)
        z = target.latents(_take(res.trajectories, j))
        return z, target.log_density(z) - res.log_z_hat

    def estimate_logpdf(self, key, z, target: Target):
        """log γ(z) − log Ẑ_cSMC(z retained): E[exp(·)] = q_SMC(z)."""
        res = csmc(
            key,
            self.model,
            self._obs(target),
            self.N,
            z,
            proposal=self.proposal,
            ess_threshold=self.ess_threshold,
            rejuvenation=self.rejuvenation,
            args=target.args,
        )
        return target.log_density(z) - res.log_z_hat_recip
