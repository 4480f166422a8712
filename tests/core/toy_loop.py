"""A toy training loop used by test_resume: a JAX random walk with a running mean.

    python toy_loop.py RUN_FOLDER STEPS [--new]

It checkpoints every 5 steps and logs a metric each step. Killed at any moment and started
again on the same folder, it resumes from its last checkpoint and must end in exactly the
state, and with exactly the metrics, of an uninterrupted run.
"""

import sys
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from simlab.core.progress import ProgressBar
from simlab.core.run import RunDir


@dataclass(frozen=True)
class Toy:
    steps: int = 40
    every: int = 5
    delay: float = 0.0


@jax.jit
def step_fn(state):
    key, sub = jax.random.split(state["key"])
    x = state["x"] + jax.random.normal(sub, state["x"].shape)
    return {
        "key": key,
        "x": x,
        "mean": state["mean"] + (x - state["mean"]) / (state["t"] + 1),
        "t": state["t"] + 1,
    }


def main(folder: str, steps: int, delay: float) -> None:
    cfg = Toy(steps=steps, delay=delay)
    run = RunDir(folder)
    run.path.mkdir(parents=True, exist_ok=True)
    ckpt = run.checkpointer(keep=2)
    # A legacy uint32 key, so the whole state is plain arrays.
    state = {
        "key": jax.random.PRNGKey(0),
        "x": jnp.zeros(3),
        "mean": jnp.zeros(3),
        "t": jnp.array(0, jnp.int32),
    }
    start = 0
    restored = ckpt.restore(like=state)
    if restored is not None:
        state, start, _ = restored
    with (
        run.metrics(resume_step=start if restored else None) as m,
        ProgressBar(cfg.steps, "toy", unit="step", start=start, disable=True) as bar,
    ):
        for step in range(start + 1, cfg.steps + 1):
            state = step_fn(state)
            m.log(step, x0=float(state["x"][0]), mean0=float(state["mean"][0]))
            if step % cfg.every == 0:
                ckpt.save(step, state)
            bar.update(1)
            print(f"step {step}", flush=True)
            time.sleep(cfg.delay)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
