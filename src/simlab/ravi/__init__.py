"""RAVI: recursive auxiliary-variable inference (Lew, Cusumano-Towner & Mansinghka, UAI 2022).

A proposal q(x) = ∫ q(x, u) du with auxiliary variables u (an MCMC trajectory, a merge order)
becomes usable inside importance sampling, SMC and VI once a *meta-inference* algorithm
approximates q(u | x). It yields the two estimators of the stochastic-probability (SP) layer
of ``simlab.gen`` (gen.md §5):

* ``estimate_logpdf(key, x)``: meta-SMC over u given x; E[exp(log q̂)] = q(x);
* ``random_weighted(key)``: (x, u*) ∼ q, then conditional meta-SMC retaining u*;
  E[exp(−log q̂) | x] = 1/q(x).

Instances in this package:

* :mod:`simlab.ravi.sp`: ``RaviProposal`` + ``SequentialMeta`` (generic, JAX), ``importance``,
  ``elbo``.
* :mod:`simlab.ravi.mcvi`: ULA proposals with learned reverse kernels. MCVI (Salimans et al.
  2015) is the K = 1 case of backward-SMC meta-inference; RAVI-MCVI(K) uses K particles.
* :mod:`simlab.ravi.amc`: Agglomerative Monte Carlo for DPMMs: the proposal merges clusters
  (u = merge order), and cSMC over merge orders is its meta-inference. IS with one AMC particle
  gives Ẑ = p(x, data)/q̂(x) with E[Ẑ] = p(data).
* SIR-within-IS is the same pattern with u = the other SIR particles and the index: see
  :func:`simlab.ravi.sp.sir_proposal`.

Importing this package imports neither JAX nor NumPy-heavy modules; import submodules.
"""
