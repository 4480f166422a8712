"""The BIF parser against pgmpy on DIAS and HEPAR II (pgmpy needs ~20 s for DIAS, too slow for
the test suite). Prints JSON: per network, variables/states/parents/CPT agreement.

    .venv/bin/python bench/eevi/bench_bif_pgmpy.py
"""

import gzip
import json
import os
import time

import numpy as np

from simlab.eevi.bif import example_path, load_bif


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from pgmpy.readwrite import BIFReader

    out = {}
    for name in ("hepar2", "diabetes"):
        path = example_path(name)
        t0 = time.perf_counter()
        net = load_bif(path)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = BIFReader(string=gzip.decompress(path.read_bytes()).decode()).get_model()
        t_pgmpy = time.perf_counter() - t0
        bad, max_err = [], 0.0
        for v in net.variables:
            cpd = model.get_cpds(v)
            same = (
                tuple(cpd.state_names[v]) == net.states[v]
                and tuple(cpd.variables[1:]) == (net.parents[v])
            )
            ours = np.moveaxis(net.cpts[v], -1, 0).reshape(net.card(v), -1)
            if same and ours.shape == cpd.get_values().shape:
                max_err = max(max_err, float(np.abs(ours - cpd.get_values()).max()))
            else:
                bad.append(v)
        out[name] = {
            "variables": len(net.variables),
            "pgmpy_variables": len(model.nodes()),
            "mismatched_variables": bad,
            "max_abs_cpt_difference": max_err,
            "parse_s_ours": t_ours,
            "parse_s_pgmpy": t_pgmpy,
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
