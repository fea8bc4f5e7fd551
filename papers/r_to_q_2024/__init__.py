"""From r to Q*: Your Language Model is Secretly a Q-Function (catalog id 155)."""
