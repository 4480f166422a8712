"""Data-parallel training over two host CPU devices equals the same shards on one device."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import equinox as eqx, jax, numpy as np
from toyenv import ToyEnv
from simlab.drive.learn.ppo import PPOConfig
from simlab.drive.learn.train import Trainer, TrainConfig

env = ToyEnv(num_worlds=8, num_agents=4, horizon=12)
out = {"devices": len(jax.devices())}
params = {}
for n_dev in (1, 2):
    cfg = TrainConfig(net="smoke", rollout=8, iterations=4, shards=2, devices=n_dev,
                      ppo=PPOConfig(minibatch=64, epochs=2))
    tr = Trainer(cfg, env)
    ts = tr.init()
    for _ in range(2):
        ts, m = tr.iterate(ts)
    out[f"kept_{n_dev}"] = int(m["n_kept"])
    out[f"env_devices_{n_dev}"] = len(ts.env_state.pos.sharding.device_set)
    leaves = jax.tree_util.tree_leaves(eqx.filter(ts.policy, eqx.is_array))
    params[n_dev] = [np.asarray(x) for x in leaves]
out["max_abs_diff"] = max(float(np.abs(a - b).max()) for a, b in zip(params[1], params[2]))
out["max_abs_param"] = max(float(np.abs(a).max()) for a in params[1])
print(json.dumps(out))
"""


@pytest.mark.slow  # ~28 s alone: a subprocess compiles the iteration for 1 and 2 devices
def test_two_host_devices_match_one_device():
    here = Path(__file__).parent
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    src = str(Path(__file__).parents[3] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(here)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    assert out["env_devices_1"] == 1 and out["env_devices_2"] == 2  # worlds really split
    assert out["kept_1"] == out["kept_2"]
    # Same shards, same samples: only the order of floating-point sums may differ.
    assert out["max_abs_diff"] < 1e-4 * max(1.0, out["max_abs_param"]), out
