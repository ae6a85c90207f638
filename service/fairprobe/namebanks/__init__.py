"""Name banks built from the shipped name tables, with the share behind every name."""

from fairprobe.namebanks.banks import BANKS, load_banks

__all__ = ["BANKS", "load_banks"]
