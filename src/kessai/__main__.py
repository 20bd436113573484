"""`python -m kessai` runs the operator CLI."""

from kessai.cli.main import main

main()
