"""What a person sees, per capability: the texts and buttons services queue into the outbox."""
