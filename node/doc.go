// Package node talks to a Kaspa node (Go kaspad or rusty-kaspa) over its
// gRPC interface, protowire, with kaspad's own message types.
//
//	c, err := node.Dial(ctx, "127.0.0.1:16110", node.Options{})
//	defer c.Close()
//	utxos, err := c.UTXOsByAddresses(ctx, []address.Address{a})
//	id, err := c.SubmitTransaction(ctx, tx) // *RejectedError when the node refuses it
//
// Every call takes a context and is bounded by Options.CallTimeout. The node
// answers requests on one stream in order, so a Client sends one request at
// a time; a call that fails or is cancelled mid-flight drops the connection
// (a late answer must never be taken for the next request's), and the next
// call reconnects, waiting a capped, growing backoff after repeated failures
// and logging each reconnect.
//
// LookupUTXO, TransactionSeen, FeeRate and VirtualDAAScore answer the
// questions a payjoin asks of a node: is this input unspent and whose, was
// the payment broadcast, what fee rate, which DAA score.
//
// The SDK's protocol packages do not require this client: they take small
// interfaces (look up a UTXO, submit a transaction) that a wallet can satisfy
// with its own node connection.
//
// UTXO and balance queries need a node started with --utxoindex.
package node
