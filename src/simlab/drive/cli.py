"""`simlab drive ...`: Gigaflow self-play training and evaluation.

The commands live beside what they run (``simlab.drive.learn.cli``) and are merged here; this
module imports only typer so that ``simlab --help`` stays light.
"""

import typer

from simlab.drive.learn.cli import app as learn_app

app = typer.Typer(
    help="Gigaflow: batched driving simulator and self-play PPO.", no_args_is_help=True
)
app.add_typer(learn_app)  # train, eval
