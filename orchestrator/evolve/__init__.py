"""evolve: the third way to use evotrain (FindingNemo): a router watches traffic, clusters the
requests no specialist serves, and births LoRA specialists for them through the substrate."""
