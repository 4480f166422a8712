"""Evaluation (spec §10) on the training code path: the same ``rollout`` (greedy actions),
the same environment step and the same event sums and ``summarize`` as the training metrics.

``evaluate(policy, env, key, steps)`` returns per-life and per-km rates of every event
(goal, collision, offroad, red_light, wrong_way, timeout, ...), mean speed, comfort share and
progress (route-distance reduction / initial route distance, see ``simenv._progress``),
km between incidents (collision + off-road + red light) with its one-sided 95 % lower bound:
km / (χ²₀.₉₅(2n + 2)/2) for n incidents, which is the rule of three, km/3, when n = 0, and a
95 % Wilson interval for each share of lives that ends in a goal, collision, off-road or
timeout (``<event>_per_life_lo95`` / ``_hi95``): an evaluation of ~50 lives cannot tell
0.25 from 0.35.
Lives still running when the evaluation stops are not counted as lives (censored).

Per life, a policy that reaches every goal still shows timeouts: after each goal the agent
starts a new life, and the last one is cut by the episode's end. The per-episode shares
``episode_<goal|collision|offroad|timeout>`` (with ``_lo95`` / ``_hi95``) count each agent's
first life only, the one that had the whole episode: the share of agents that reach their
goal within an episode, as driving benchmarks report it. Run ``steps`` = ``max_steps`` (or
a multiple) so that every episode ends inside the evaluation.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from scipy.stats import binomtest, chi2

from simlab.drive.learn.rollout import rollout
from simlab.drive.learn.train import SECONDS_PER_YEAR, summarize

__all__ = ["evaluate", "incident_metrics", "wilson"]

INCIDENTS = ("collision", "offroad", "red_light")
# Events that end a life (or are its final goal), so their per-life rate is a proportion.
LIFE_ENDINGS = ("goal", "collision", "offroad", "timeout")


def wilson(k: float, n: float) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion with k successes in n trials ((0, 1) if
    n = 0); k and n are event and life counts summed as floats."""
    n = round(n)
    if n <= 0:
        return 0.0, 1.0
    ci = binomtest(min(max(round(k), 0), n), n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


@eqx.filter_jit
def _chunk(policy, env, carry, key, steps: int, greedy: bool):
    state, obs_key, ep = carry
    obs = env.observe(state, obs_key)
    (state, _, obs_key, ep), traj = rollout(
        policy, env, state, obs, obs_key, ep, key, steps, store_obs=None, greedy=greedy,
        bootstrap=False,
    )  # fmt: skip
    sums = {
        "agent_steps": traj["alive"].sum(),
        "lives": traj["lives"].sum(),
        "life_return": traj["life_return"].sum(),
        "events": jax.tree_util.tree_map(jnp.sum, traj["events"]),
    }
    return (state, obs_key, ep), sums


@eqx.filter_jit
def _start(env, key):
    k_reset, k_obs = jax.random.split(key)
    state = env.reset(k_reset)
    obs = jax.eval_shape(env.observe, state, k_obs)
    ep = jnp.zeros(jax.tree_util.tree_leaves(obs)[0].shape[:2], jnp.float32)
    return state, k_obs, ep


def evaluate(
    policy, env, key, steps: int, greedy: bool = True, chunk: int = 256, show_progress=False
) -> dict[str, float]:
    """Run ``steps`` steps from a fresh reset of ``env``; return the metric dict.

    Steps run in jitted chunks of ``chunk`` (so long-form episodes of 9,000 steps need no
    [T, W, A] buffers of that length); sums are accumulated on the host in float64.
    """
    from simlab.core.progress import ProgressBar

    carry = _start(env, key)
    total: dict = {}
    done = 0
    # Equal chunks where possible: each distinct chunk length is one more compilation
    # (300 steps run as 2 × 150, not 256 + 44).
    chunk = -(-steps // -(-steps // chunk))
    with ProgressBar(steps, "eval", unit="step", disable=not show_progress) as bar:
        while done < steps:
            n = min(chunk, steps - done)
            carry, sums = _chunk(policy, env, carry, jax.random.fold_in(key, done), n, greedy)
            sums = jax.tree_util.tree_map(float, jax.device_get(sums))
            total = sums if not total else jax.tree_util.tree_map(lambda a, b: a + b, total, sums)
            done += n
            bar.update(n)
    return incident_metrics(summarize(total, float(getattr(env, "dt", 0.0)) or None), total)


def incident_metrics(rec: dict[str, float], sums: dict) -> dict[str, float]:
    """Add km between incidents (point estimate and 95 % lower bound), years between
    incidents, mean speed (m/s), comfort share and mean |jerk| (m/s³) to a ``summarize``
    record."""
    ev = sums.get("events", {})
    steps = max(rec.get("agent_steps", 0.0), 1.0)
    n = sum(ev.get(name, 0.0) for name in INCIDENTS)
    km = rec["km"]
    rec["incidents"] = n
    rec["km_between_incidents"] = km / n if n > 0 else float("inf")
    rec["km_between_incidents_lower95"] = km / (chi2.ppf(0.95, 2 * n + 2) / 2)
    if "driving_years" in rec:
        yrs = rec["driving_years"]
        rec["years_between_incidents"] = yrs / n if n > 0 else float("inf")
        rec["driving_hours"] = yrs * SECONDS_PER_YEAR / 3600
    lives = rec.get("lives", 0.0)
    for name in LIFE_ENDINGS:
        if name in ev:
            lo, hi = wilson(ev[name], lives)
            rec[f"{name}_per_life_lo95"], rec[f"{name}_per_life_hi95"] = lo, hi
        if f"episode_{name}" in ev:
            lo, hi = wilson(ev[f"episode_{name}"], ev.get("episodes", 0.0))
            rec[f"episode_{name}_lo95"], rec[f"episode_{name}_hi95"] = lo, hi
    if "speed" in ev:
        rec["mean_speed"] = ev["speed"] / steps
    if "comfort" in ev:
        rec["comfort_share"] = ev["comfort"] / steps
    if "jerk" in ev:
        rec["mean_abs_jerk"] = ev["jerk"] / steps
    return rec
