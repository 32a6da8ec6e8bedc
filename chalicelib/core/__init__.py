"""The shared base: settings, AWS clients, logs, metrics, masking, time, digests, states."""
