"""The litestar app: GraphQL schema assembly, health and readiness, the ``thidua`` CLI."""
