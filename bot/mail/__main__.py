"""`python -m bot.mail`: the same as `mobility email`."""
import sys

from bot.mail import cli

sys.exit(cli())
