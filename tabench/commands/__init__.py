"""CLI subcommands, one module each, discovered by `tabench.cli`."""
