package main

import (
	"context"
	"github.com/kloakprotocol/kloak/discovery"
	"time"

	"github.com/kloakprotocol/kloak/txbuild"
)

// pulser is what the operator console needs of the node's discovery
// pulses, which *discovery.Pulser provides (see the note at the end of
// this file). A nil pulser means pulses are not configured, and the
// console says so.
type pulser interface {
	// PulseNow sends a pulse at once and returns its transaction id.
	PulseNow(ctx context.Context) (txbuild.Hash, error)
	// Status reports the pulses sent so far and the next one.
	Status() pulseStatus
}

// pulseStatus mirrors discovery.PulseStatus field for field, so that one
// converts to the other with pulseStatus(s).
type pulseStatus struct {
	Sent           int          // pulses sent since the node started
	LastTx         txbuild.Hash // the last pulse's transaction id, zero before the first
	LastAt, NextAt time.Time    // when the last pulse went out, when the next is due
	LastErr        error        // why the last attempt failed, nil if it did not
	PayloadRefused bool         // kaspad refuses transaction payloads (no pulses possible)
}

// discoveryPulser adapts *discovery.Pulser to pulser.
type discoveryPulser struct{ *discovery.Pulser }

func (p discoveryPulser) Status() pulseStatus { return pulseStatus(p.Pulser.Status()) }
