"""RedButler core: configuration, models, services, scheduling, delivery and CLI."""

import sys

# PTB imports its own webhook server (tornado, about 3 MB of memory and 25 ms at start) with telegram.ext
# whenever tornado is installed; the bot's webhook is aiohttp's (bot/runner.py), so PTB is told it has none.
# Only PTB's start_webhook/run_webhook would notice, and the bot calls neither.
sys.modules.setdefault("telegram.ext._utils.webhookhandler", None)  # type: ignore[arg-type]
