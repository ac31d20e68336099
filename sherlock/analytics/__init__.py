"""Incident analytics: the incident frame, recurring themes, spikes and the patterns report."""
