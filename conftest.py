"""The suite's fixtures and options live in the `spidra_contract` plugin (installed as a pytest11 entry point)."""

pytest_plugins = ["spidra_contract.plugin"]
