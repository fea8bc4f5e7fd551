"""Are We Falling in a Middle-Intelligence Trap? An Analysis and Mitigation of the Reversal Curse (catalog id 99)."""
