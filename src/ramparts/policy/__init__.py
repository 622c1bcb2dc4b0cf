"""Threat policies: the Standard and Strict presets, custom policies, and the action each verdict gets."""
