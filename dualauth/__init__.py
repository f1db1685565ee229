"""Session, JWT or both, behind one setting, with revocation that holds in every mode."""

__version__ = "0.1.0"
