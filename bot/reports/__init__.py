"""Pictures and printable reports drawn from plain figures (bot.services.stats); never a database session."""
