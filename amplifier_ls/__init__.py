"""amplifier_ls: predict what an author would write next, in their own voice."""

__version__ = "0.1.0"
