"""EEVI: estimators of entropy and information via inference (Saad et al., AISTATS 2022)."""
