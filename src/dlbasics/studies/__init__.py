"""Figures and comparisons that read several finished run dirs (one sweep) at once."""
