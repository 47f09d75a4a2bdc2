"""Activation: syncs keep a list on an e-mail platform equal to a segment's consenting members."""
