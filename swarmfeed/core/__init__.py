"""Pure protocol logic: formats, signatures, verification and policies, with no I/O."""
