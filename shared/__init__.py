"""Token Papers' shared package: the results contract, provenance, claims and the compute engines papers share."""

from pathlib import Path

__version__ = "0.1.0"

# the repository root (this package is installed editable, so it is the checkout it was installed from)
ROOT = Path(__file__).resolve().parent.parent
