"""Where a pdbridge server listens unless told otherwise (the course convention: Pd -> Python on
UDP 1415; replies to the sender, or to a fixed port such as the course's 1123)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1415
