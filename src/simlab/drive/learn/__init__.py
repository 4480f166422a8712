"""Self-play PPO with advantage filtering for the driving simulator (spec §8–§11).

Modules: ``policy`` (Deep-Sets actor and critic), ``ppo`` (GAE, loss, filtered update),
``filter`` (advantage filter and compaction), ``rollout`` (the environment interface and the
jitted rollout), ``train`` (the training iteration and loop), ``simenv`` (the simulator
behind that interface, with reward-term and progress diagnostics), ``evaluate`` (§10 metrics on
the training code path), ``config`` (presets smoke / cpu / full / easy), ``experiment`` (what
``simlab drive train|eval`` run), ``interface`` (NumPy policy files) and ``scene`` (§11:
``ScenePolicy.act(Scene) -> Control`` in any frame).
"""
