"""One sub-package per replicated paper: `papers.<slug>.method` holds what is new in that paper."""
