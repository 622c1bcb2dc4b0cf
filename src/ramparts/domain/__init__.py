"""Pure domain vocabulary: verdicts, their order, delivery locations and table enums. No I/O."""
