"""Telegram adapters: parse → call a service → render. No SQL, no business rules here."""
