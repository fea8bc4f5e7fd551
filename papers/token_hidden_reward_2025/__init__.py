"""Token Hidden Reward: Steering Exploration-Exploitation in Group Relative Deep Reinforcement Learning (catalog id 143)."""
