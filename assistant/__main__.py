"""`python -m assistant` runs the `aiops` command line."""

from assistant.cli import main

main()
