"""pdbridge: generative drum models served over OSC to Pure Data."""

__version__ = "0.1.0"
