"""The Pd patches as package data (pdbridge.patches): setup.py maps this folder into the
package, so importlib.resources finds it in a wheel and in a checkout alike (pdbridge.core.places).
Pd ignores this file, and `pdbridge patches --copy` leaves it out. Not code."""
