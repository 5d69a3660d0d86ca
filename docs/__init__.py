"""docs/protocol.md as package data (pdbridge.docs): setup.py maps this folder into the package
(pdbridge.core.places.protocol_doc). Not code."""
