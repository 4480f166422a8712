"""Is a 3DP3 error the sampler's or the model's? Score the estimate against the truth.

    nice -n 10 .venv/bin/python bench/scenes/diag_truth_score.py occlusion 2000,2004,2007

For each tuning scene: run 3DP3 (3DP3* then the graph stages), then print
``structure_score`` (log p(graph, T) + log p(obs | T) + log 8 per edge) of

* the 3DP3 estimate with its graph,
* the true poses with the true graph,
* per object off by more than 1 cm: the estimate with that one object (and its subtree)
  moved to its true pose under its true edge.

A truth that scores above the estimate means the search missed a better state (the
sampler's fault); one that scores below means the model prefers the wrong pose.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, objects
from simlab.scenes.benchmark import edges_of, prepare
from simlab.scenes.eval import add_s
from simlab.scenes.geometry import pose_from_tq, pose_to_tq
from simlab.scenes.graph import GraphPrior
from simlab.scenes.infer import Config, pad_poses
from simlab.scenes.pipeline import run_3dp3, run_3dp3_star, structure_score
from simlab.scenes.structure import closest_faces


def main():
    split = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2].split(",")]
    cfg, prior = Config(), GraphPrior()
    for s in seeds:
        _scene(split, s, cfg, prior)


def _scene(split, s, cfg, prior):
    sd = data.generate_scene(split, s)
    prep = prepare(sd)
    key = jax.random.key(0)
    args = (prep.cam, prep.ws, cfg, prep.geom, prep.obs)
    star = run_3dp3_star(key, *args, sd.init_poses, 40, 20, 1)
    cyl = np.array([o.name in objects.CYLINDERS for o in prep.objs])
    res = run_3dp3(key, *args, sd.init_poses, prep.half, prior, 40, 20, 1, 20, star, cylinder=cyl)
    n, N = len(prep.objs), prep.geom.points.shape[0]
    half = jnp.concatenate(
        [jnp.asarray(prep.half, jnp.float32), jnp.full((N - n, 3), 0.01, jnp.float32)]
    )

    def state(T, parents):
        """Padded (parents, faces, T) with faces = each edge's closest face pair."""
        T = pose_from_tq(*pad_poses(prep.geom, *pose_to_tq(jnp.asarray(T, jnp.float32)),
                                    prior.bounds))  # fmt: skip
        P = jnp.full((N,), -1, jnp.int32).at[:n].set(jnp.asarray(parents, jnp.int32))
        F = jnp.zeros((N, 2), jnp.int32)
        for i in range(n):
            if int(P[i]) >= 0:
                F = F.at[i].set(jnp.stack(closest_faces(T, half, P[i], i)).astype(jnp.int32))
        return P, F, T

    def score(T, parents):
        P, F, T = state(T, parents)
        sc = structure_score(prep.cam, prep.ws, cfg, prior, prep.geom, prep.obs, P, F, T, half)
        return float(sc)

    true_parents = np.full(n, -1)
    for p, c in sd.edges:
        true_parents[c - 1] = p
    err = [add_s(sd.poses[i], res.poses[i], o.metric_points) for i, o in enumerate(prep.objs)]
    print(f"== {split} {s} visible {np.round(sd.visible, 2).tolist()}")
    print(f"  ADD-S mm {np.round(1e3 * np.array(err), 1).tolist()}")
    print(f"  edges {edges_of(res.parents).tolist()} true {sd.edges.tolist()}")
    est = score(res.poses, res.parents)
    print(f"  score estimate {est:.1f}   truth {score(sd.poses, true_parents) - est:+.1f}")
    for i in np.flatnonzero(np.array(err) > 0.01):
        T = np.array(res.poses)
        T[i] = sd.poses[i]
        P = np.array(res.parents)
        P[i] = true_parents[i]
        print(f"  object {i} ({sd.names[i]}) at its true pose: {score(T, P) - est:+.1f}")


if __name__ == "__main__":
    main()
