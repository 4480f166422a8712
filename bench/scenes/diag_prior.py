"""The contact prior's two knobs (κ, σ_s) on tuning scenes (not the reported seeds).

    nice -n 10 .venv/bin/python bench/scenes/diag_prior.py stacking,occlusion \
        2000,2001,2002,2003 300:0.005,1000:0.002

Runs 3DP3* once per scene, then the 3DP3 graph stages from that same result under each
prior ``kappa:sigma_s``, and prints per object ADD-S [mm] and each contact's slack offset
[mm] and tilt [deg] (the distance of its pose from a flush contact), the edges against the
true ones, and summary lines per prior: ADD-S AUC, % < 1 cm and % < 2 cm over all scenes.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, objects
from simlab.scenes.benchmark import edges_of, prepare
from simlab.scenes.eval import add_s, auc
from simlab.scenes.graph import GraphPrior, contacts_of
from simlab.scenes.infer import Config
from simlab.scenes.pipeline import run_3dp3, run_3dp3_star


def main():
    splits = sys.argv[1].split(",")
    seeds = [int(s) for s in sys.argv[2].split(",")]
    priors = [tuple(map(float, p.split(":"))) for p in sys.argv[3].split(",")]
    cfg = Config()
    errs = {"3dp3_star": [], **{p: [] for p in priors}}
    for split in splits:
        for s in seeds:
            sd = data.generate_scene(split, s)
            prep = prepare(sd)
            key = jax.random.key(0)
            args = (prep.cam, prep.ws, cfg, prep.geom, prep.obs)
            star = run_3dp3_star(key, *args, sd.init_poses, 40, 20, 1)
            cyl = np.array([o.name in objects.CYLINDERS for o in prep.objs])

            e = _errors(sd, prep, star.poses)
            errs["3dp3_star"] += e
            print(f"== {split} {s} true edges {sd.edges.tolist()}")
            print(f"  3dp3_star      {np.round(1e3 * np.array(e), 1).tolist()}")
            for kappa, sigma in priors:
                prior = GraphPrior(kappa=kappa, sigma_s=sigma)
                res = run_3dp3(
                    key, *args, sd.init_poses, prep.half, prior, 40, 20, 1, 20, star, cylinder=cyl
                )
                e = _errors(sd, prep, res.poses)
                errs[(kappa, sigma)] += e
                slack = _slacks(res, prep.half)
                edges = edges_of(res.parents).tolist()
                print(
                    f"  κ={kappa:g} σ={1e3 * sigma:g}mm {np.round(1e3 * np.array(e), 1).tolist()}"
                    f" edges {edges} (s mm, tilt °) {slack}",
                    flush=True,
                )
    for name, e in errs.items():
        e = np.array(e)
        print(
            f"{name!s:16s} AUC {100 * auc(e):.2f}  <1cm {100 * np.mean(e < 0.01):.0f}"
            f"  <2cm {100 * np.mean(e < 0.02):.0f}  median {1e3 * np.median(e):.1f} mm"
        )


def _errors(sd, prep, P):
    """ADD-S [m] of each object's pose P[i]."""
    return [add_s(sd.poses[i], P[i], o.metric_points) for i, o in enumerate(prep.objs)]


def _slacks(res, half):
    """Per object in contact: (object, slack offset [mm], tilt of the slack direction [deg])."""
    c = np.asarray(
        contacts_of(
            jnp.asarray(res.parents),
            jnp.asarray(res.faces),
            jnp.asarray(res.poses, jnp.float32),
            jnp.asarray(half, jnp.float32),
        )
    )
    return [
        (i, round(1e3 * float(c[i, 2]), 1), round(float(np.degrees(np.arccos(-c[i, 5]))), 1))
        for i in range(len(res.parents))
        if res.parents[i] >= 0
    ]


if __name__ == "__main__":
    main()
