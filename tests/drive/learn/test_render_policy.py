"""`simlab drive render --policy`: a policy exported by training drives the rendered world."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from simlab.drive.config import EnvConfig
from simlab.drive.learn.interface import export_policy
from simlab.drive.learn.policy import POLICY_CONFIGS, make_policy, obs_spec
from simlab.drive.learn.simenv import SimEnv, procedural_bank
from simlab.drive.render import load_driver, load_map, rollout, write_gif

ENV = dict(n_lanes=8, n_boundary=8, n_partners=2, v_goal=30.0)


@pytest.mark.slow  # ~27 s alone, mostly compiling the simulator
def test_exported_policy_drives_the_render(tmp_path):
    env = SimEnv(procedural_bank(0, 1), EnvConfig(n_agents=3, **ENV), 1)
    obs = jax.eval_shape(lambda k: env.observe(env.reset(k)), jax.random.PRNGKey(0))
    policy = make_policy(obs_spec(obs), POLICY_CONFIGS["smoke"], jax.random.PRNGKey(1))
    # An actor that always prefers action 7 (jerk 0, steer +4) whatever it sees.
    policy = eqx.tree_at(lambda p: p.actor.head.b, policy, jnp.zeros(12).at[7].set(50.0))
    export_policy(policy, tmp_path / "run" / "artefacts" / "policy", 0.3, {"env": ENV})
    net, fields = load_driver(tmp_path / "run")  # a run folder, as `--policy` takes
    assert fields == ENV
    m = load_map("roundabout", 1)
    traj = rollout(m, 4, 3, seed=1, policy=net, env_fields=fields)
    assert traj["action"].shape == (4, 3) and np.all(traj["action"] == 7)
    gif = write_gif(tmp_path / "r.gif", m, traj, every=2, driver="learned policy")
    with Image.open(gif) as im:
        assert im.is_animated and im.n_frames == 3
