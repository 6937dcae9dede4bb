"""`python -m owners.cli` runs the `owners` command."""

from owners.cli import main

main()
