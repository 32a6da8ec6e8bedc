"""leadflow's shared logic: one module per responsibility."""
