"""Human risk: how much each person is targeted (Attack Factor) and, once click data flows in, how they act."""
