"""RedButler core: configuration, models, services, scheduling, delivery and CLI."""
