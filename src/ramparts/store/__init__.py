"""The control plane: tenants, mailboxes, policies, message copies, verdicts, quarantine, audit."""
