"""Driver plugins that adapt machines to the console: the simulated machine, and serial machines."""
