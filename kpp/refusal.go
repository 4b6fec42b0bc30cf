package kpp

import (
	"context"
	"errors"

	"github.com/kloakprotocol/kloak/txbuild"
)

// What a wallet tells the other when it stops: a short fixed text from
// this one table, sealed in a broadcast_error. Never the error itself,
// which may name the wallet's own node (host and port), files, amounts or
// coins; the full error stays with the wallet that had it.
var refusalTexts = []struct {
	err  error
	text string
}{
	{txbuild.ErrNotAgreedShape, "refused: not the agreed transaction"},
	{txbuild.ErrNotPaidInFull, "refused: the receiver is not paid in full"},
	{txbuild.ErrExposingSplit, "refused: the receiver's outputs would expose it"},
	{txbuild.ErrProposalChanged, "refused: the transaction differs from the proposal"},
	{txbuild.ErrBadSigHashType, "refused: a signature does not commit to the whole transaction"},
	{txbuild.ErrBreaksRules, "refused: the transaction breaks the network's rules"},
	{txbuild.ErrStorageMassTooHigh, "cannot build: the payjoin would break the storage mass limit"},
	{txbuild.ErrInsufficientFunds, "cannot build: the sender has no coin large enough"},
	{ErrNodeFeeTooHigh, "refused: the relay node's fee is over the sender's cap"},
	{ErrOfferMismatch, "refused: the offer does not match the payment request"},
	{ErrEnvelope, "refused: a message could not be opened"},
	{ErrUnexpectedMessage, "refused: an unexpected message"},
	{errBroadcastFailed, "broadcast failed"},
	{context.DeadlineExceeded, "timed out"},
	{context.Canceled, "cancelled"},
}

// errBroadcastFailed marks a sender's failed broadcast.
var errBroadcastFailed = errors.New("kpp: broadcast failed")

// refusalText is the text a wallet sends the other for err.
func refusalText(err error) string {
	for _, r := range refusalTexts {
		if errors.Is(err, r.err) {
			return r.text
		}
	}
	return "payjoin cancelled"
}
