"""Serving: the HTTP service of serve_siamese_network.py, its page, and the batching of
requests that arrive together.

May import every floor below it; nothing imports it but the scripts, tools and benchmarks.
"""
