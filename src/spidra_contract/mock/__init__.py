"""The embedded mock: a reference implementation of the crawl-status endpoint with fault switches."""
