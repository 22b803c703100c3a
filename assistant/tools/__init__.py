"""Tools: the registry (what exists), the sandbox (the only way one runs), the worker processes it runs them in,
the Kubernetes tools, and the investigation that picks tools for a question. Kept free of imports: the worker
process imports this package and must not pull in the service."""
