"""The suite's fixtures and options live in the `spidra_contract` plugin (also a pytest11 entry point)."""

pytest_plugins = ["spidra_contract.plugin"]
