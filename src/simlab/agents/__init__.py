"""simlab.agents: LOOP, RL for LLM agents in a stateful multi-app API world.

Part A (this package's ``world``) is a seeded, stateful multi-app API environment with a
sandboxed Python REPL, tasks and state-based evaluation; ``env.AgentEnv`` is the episode
interface. Part B (the LOOP trainer) lives beside it. Importing ``simlab.agents`` imports
neither torch nor any other heavy framework.
"""
