"""The guide and the architecture notes, shipped as ``medassist.docs`` (``medassist guide`` prints the guide)."""
