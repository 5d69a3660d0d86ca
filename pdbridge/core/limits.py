"""Size limits, one place for each (documented in docs/reliability.md, "Limits"): nothing a file,
an option or a request declares may make pdbridge allocate more than these allow.

A file over a limit is refused with `BadInputError` (exit 3) naming the file; an option over a
limit is a usage error (exit 2) naming the option (`pdbridge.cli.options`).
"""

MAX_CONTINUE_BARS = 64  # bars `continue` writes at once (a clip file)
# A reply is one UDP datagram (at most 65,507 bytes): 8 bars of /pattern are 128 x 27 floats,
# 13.8 KB, and leave room for the rest. /continue over OSC is limited to these.
MAX_REPLY_BARS = 8
MAX_MODELS = 16  # models one server holds at once, so /load cannot fill the memory

# Patterns from files and options. 1024 bars of 4/4 are 34 minutes at 120 bpm (the longest Groove
# MIDI Dataset performance is about 150 bars) and 16,384 steps, 1.8 MB as an array.
MAX_PATTERN_BARS = 1024
MAX_SAMPLE_BARS = MAX_PATTERN_BARS  # `pdbridge sample --bars`
# File sizes read before parsing. The largest dataset MIDI file is 155 KB; mido keeps every event
# as a Python object: 2 MiB of dense events (700,000 notes) took 15 s and 705 MB of address space
# to convert, 1 MiB takes half that.
MAX_MIDI_BYTES = 1024 * 1024
# A 1024-bar pattern written by pdbridge is about 4.5 MB of JSON.
MAX_JSON_BYTES = 8 * 1024 * 1024
# A pattern is nested 3 deep ({"hits": {"kick": [...]}}), a training config about 4. Python's
# parser recurses once per level (RecursionError near 1000): deeper files are refused.
MAX_JSON_DEPTH = 32
# A file name from a request (/load, /export) or an option, and its last part: the last part
# leaves room for the temporary name an export writes first (".NAME.PID.THREAD.tmp") inside the
# file system's 255 bytes.
MAX_NAME = 255  # characters
MAX_NAME_PART_BYTES = 200

# Numbers of the command line (`pdbridge.cli.options` checks them; argparse types).
MAX_SEED = 2**31 - 1  # seeds are 0..MAX_SEED; -1 means random, as over OSC
MAX_TEMPERATURE = 10.0
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_THREADS = 256
MAX_WORKERS = 64
MAX_QUEUE_SIZE = 4096
MAX_SERVER_BATCH = 256
MAX_TIMEOUT_S = 3600.0
MAX_BENCH_REQUESTS = 1_000_000
MAX_BENCH_SECONDS = 3600.0
# A model `train --set` or a training config may build: 50 M parameters are 200 MB of float32
# weights, four times that while training (AdamW); the largest shipped model has 4.1 M.
MAX_MODEL_PARAMS = 50_000_000
MAX_MIN_HITS = 32 * 9  # every cell of a 2-bar window
