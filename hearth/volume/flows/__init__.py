"""The manager's TaskFlow flows: the seed's create flow, its per-source creators, the engine."""
