"""How mail enters and moves: SMTP listener, ingest, spool, parsing and the pipeline."""
