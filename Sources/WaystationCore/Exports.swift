// The protocol's primitives (durations, number text, device states, severities) are part of the
// domain vocabulary: every module that uses the config model sees them.
@_exported import WaystationProtocol
