"""The API world: state, apps, sandboxed REPL, tasks and evaluation."""
