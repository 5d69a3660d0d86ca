"""The shipped models as package data (pdbridge.shipped_models): setup.py maps this folder into
the package, so importlib.resources finds it in a wheel and in a checkout alike
(pdbridge.core.places). Not code."""
