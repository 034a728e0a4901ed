"""Tokens and phone numbers never reach the logs, even inside a traceback."""

from __future__ import annotations

import io
import logging

from bot.logging_setup import RedactingFilter, redact


def test_redact_masks_tokens_and_mobile_numbers() -> None:
    token = "123456789:AAE-abcdefghijklmnopqrstuvwxyz012345"
    line = f"POST https://api.telegram.org/bot{token}/sendMessage to 13812345678"
    cleaned = redact(line)
    assert "AAE-abc" not in cleaned and "13812345678" not in cleaned
    assert "<token>" in cleaned and "<phone>" in cleaned
    assert redact("room 3栋2单元501, order 20261122") == "room 3栋2单元501, order 20261122"


def test_filter_cleans_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling %s", "+86 13912345678")
        try:
            raise ValueError("token 123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123 leaked")
        except ValueError:
            logger.exception("failed for %s", "13700000000")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "13912345678" not in output and "13700000000" not in output
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123" not in output
    assert "ValueError" in output  # the trace itself is kept
