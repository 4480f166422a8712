"""The apps of the world, in the order ``api_docs`` lists them."""

from simlab.agents.world.apps.api_docs import ApiDocs
from simlab.agents.world.apps.files import Files
from simlab.agents.world.apps.mail import Mail
from simlab.agents.world.apps.music import Music
from simlab.agents.world.apps.notes import Notes
from simlab.agents.world.apps.phone import Phone
from simlab.agents.world.apps.shop import Shop
from simlab.agents.world.apps.supervisor import Supervisor
from simlab.agents.world.apps.wallet import Wallet

__all__ = ["APP_CLASSES"]

APP_CLASSES = (Supervisor, ApiDocs, Phone, Wallet, Notes, Music, Mail, Files, Shop)
