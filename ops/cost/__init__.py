"""The cost model of an environment's configuration: prices, units, the report and the plot."""
