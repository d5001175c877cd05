"""The gridmap app: FastAPI routes, the CLI and the analyses."""
