"""The primitive families. Each module defines its primitives (`<name>_p`, each followed by its
rules) and the public functions users call as `graphc.<name>`, listed in its `__all__`."""
