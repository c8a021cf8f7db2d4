"""Economics: what a site costs and earns, what a deal is worth, what fee to ask."""
