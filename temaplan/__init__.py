"""temaplan: the front door (CLI), settings, logging and database wiring."""
