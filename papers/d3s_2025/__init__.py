"""Learning More with Less: A Dynamic Dual-Level Down-Sampling Framework for Efficient Policy Optimization (catalog id 148)."""
