"""EEVI: estimators of entropy and information via inference (Saad et al., AISTATS 2022).

Importing this package imports nothing heavy (the CLI stays fast); import the modules:

* :mod:`simlab.eevi.estimators` — ``entropy_bounds``, ``conditional_entropy_bounds``,
  ``mutual_information_bounds``, ``outer_samples``, ``combine``; ``EntropyBounds`` /
  ``InfoBounds``. Any simlab.gen model, ``ImportanceK`` (likelihood weighting, custom or SIR
  proposals) or ``SMCAlgorithm``.
* :mod:`simlab.eevi.bif` — BIF parser (``load_bif``, ``load_network``, ``example_path``).
* :mod:`simlab.eevi.bn` — ``compile_bn``, batched ``sample`` / ``log_factors``, ``BayesNet`` GF.
* :mod:`simlab.eevi.lw` — likelihood-weighting bounds with runtime target masks
  (``bn_entropy_bounds``, ``bn_outer_samples``): one compilation for many terms.
* :mod:`simlab.eevi.seqbn` — a time-sliced network as a simlab.gen ``SequentialModel``.
* :mod:`simlab.eevi.exact` — exact oracles (contraction, variable elimination, enumeration).
* :mod:`simlab.eevi.mvn`, :mod:`simlab.eevi.knn` — Gaussian closed forms, proposals, kNN
  baselines. :mod:`simlab.eevi.hepar2`, :mod:`simlab.eevi.diabetes` — the paper's studies
  (ranking, runtime sweep, ``variance_experiment``; DIAS pair sweep, ``exact_pair_mi_table``).
* :mod:`simlab.eevi.amortised` — ``BNProposal`` (autoregressive MLP q_φ(z; y)) and
  ``train_sleep`` (gen's sleep objective); ``BNProposal.proposal(params)`` is a custom proposal.
* :mod:`simlab.eevi.neural_mi` — InfoNCE / NWJ / MINE critic baselines (MVN check only).
* ``bif.load_network(name, smoothing=ε)`` / ``bif.smooth``: the authors' CPT smoothing.

Signs: ``log_marginal_lower``/``log_marginal_upper`` bound log p(y) (E[·] ≤ / ≥);
``entropy_lower``/``entropy_upper`` bound H in nats; all bounds hold in expectation.
"""
