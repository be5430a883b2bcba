// Package throttlepolicy compiles throttling policies (limits, condition groups, CUSTOM key
// templates) for the request path and matches calls against them. It is a leaf shared by
// the control plane, which validates policies with Compile, and the gateway, whose state
// holds each policy compiled once; the traffic manager's Throttler counts what the compiled
// policies of a Call say. It imports only runtime/contract.
package throttlepolicy
