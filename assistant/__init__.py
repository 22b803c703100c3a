"""The assistant: answering, tools and sandbox, service, and the `aiops` command line."""
