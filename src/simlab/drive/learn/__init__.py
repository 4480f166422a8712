"""Self-play PPO with advantage filtering for the driving simulator (spec §8–§11).

Modules: ``policy`` (Deep-Sets actor and critic), ``ppo`` (GAE, loss, filtered update),
``filter`` (advantage filter and compaction), ``rollout`` (the environment interface and the
jitted rollout), ``train`` (the training iteration and loop).
"""
