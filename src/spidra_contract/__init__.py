"""Contract and compliance test suite for the Spidra crawl-status endpoint, GET /crawl/{jobId}."""

__version__ = "0.1.0"
