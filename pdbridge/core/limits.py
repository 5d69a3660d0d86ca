"""Size limits, one place for each (documented in docs/reliability.md): nothing a file, an option
or a request declares may make pdbridge allocate more than these allow."""

MAX_CONTINUE_BARS = 64  # bars `continue` writes at once (a clip file)
# A reply is one UDP datagram (at most 65,507 bytes): 8 bars of /pattern are 128 x 27 floats,
# 13.8 KB, and leave room for the rest. /continue over OSC is limited to these.
MAX_REPLY_BARS = 8
