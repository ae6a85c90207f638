"""The work: pure, deterministic engines over validated domain requests. No Flask here."""
