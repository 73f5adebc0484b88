"""`--check`: the findings model, the judges of each answer, and the runner that asks."""
