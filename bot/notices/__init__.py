"""What a person sees, one module per capability: texts and buttons built from the plain values services
return, for the notices services queue into the outbox and for the handlers' direct replies."""
