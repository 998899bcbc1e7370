"""The tone model's training and held-out evaluation data, and its training script."""
