"""LOOP (leave-one-out PPO) for LLM agents, in PyTorch + transformers.

Modules:

* ``models``   — load a policy (tiny random Llama, SmolLM2-135M from its GGUF, any HF causal LM)
  and its chat format; optional LoRA adapters.
* ``rollout``  — token-in/token-out multi-turn rollouts against an environment, batched per
  group with KV-cache reuse across turns and the spec's early stop.
* ``loop``     — advantages, filtering, the per-token clipped surrogate and the update (with
  the paper's ablations as switches of one code path).
* ``trainer``  — Algorithm 1: iterations of collect + update (``loop_iteration``), TGC/SGC
  evaluation with behavioural metrics, checkpoints, resume.
* ``sft``      — supervised warm start on ground-truth conversations (assistant tokens only,
  the same token layout as rollouts), so a small model's K rollouts differ in reward.
* ``metrics``  — the paper's behavioural metrics (multi-cell turns, api-doc lookups, "assum*",
  "dummy", give-up rate, turns, execution errors per turn, code characters, diversity).
* ``toy``      — scripted environments for tests, demos and benchmarks: a two-turn lookup game
  (``ToyEnv``) and a one-turn bandit (``BanditEnv``).
* ``cli``      — ``simlab agents train|eval``.

Importing this package imports neither torch nor transformers (the submodules do).
"""
