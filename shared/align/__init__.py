"""Alignment engine: DPO/IPO and GRPO losses with per-token weights and masks, checked against TRL (issue 16)."""
