"""The demo corpus generator: ``python -m tools.demo`` regenerates ``data/demo/`` byte for byte."""
