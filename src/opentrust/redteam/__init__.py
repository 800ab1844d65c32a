"""Red teaming: the probe catalogue, attack mutators and the detector-error correction of attack-success rates."""
