package devnet

import "errors"

var (
	// ErrPatchDoesNotApply means the text the patch replaces was not found, exactly once, in the
	// kaspad module: the module is not the release the patch was written for.
	ErrPatchDoesNotApply = errors.New("devnet: kaspad patch does not apply")

	// ErrBuildFailed means a go command that builds the node failed or ran out of time; the error
	// carries the tail of its output.
	ErrBuildFailed = errors.New("devnet: building kaspad failed")

	// ErrNodeExited means kaspad exited on its own, before it answered on its RPC port or
	// before Close; the error carries the tail of its log.
	ErrNodeExited = errors.New("devnet: kaspad exited")

	// ErrMinerExited means kaspaminer exited on its own while it was meant to be mining; the
	// error carries the tail of its log.
	ErrMinerExited = errors.New("devnet: kaspaminer exited")

	// ErrClosed means the Node was already closed.
	ErrClosed = errors.New("devnet: node closed")
)
