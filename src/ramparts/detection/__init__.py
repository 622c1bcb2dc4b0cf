"""Detection engines behind one interface: the builtin rules and the rspamd adapter."""
