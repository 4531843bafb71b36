"""Stevedore's local emulated AWS account: moto 5.2.5 plus the patches it needs.

Use ``start(host, port, lambda_url, region)`` for in-process use, or
``tools/local-aws/launcher.py`` from the command line.
"""

from .emulator import Emulator, start

__all__ = ["Emulator", "start"]
