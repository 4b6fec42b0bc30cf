package devnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kaspanet/kaspad/app/appmessage"
	"github.com/kaspanet/kaspad/domain/consensus/utils/consensushashing"
	"github.com/kaspanet/kaspad/infrastructure/network/netadapter/server/grpcserver/protowire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// maxRPCMessage bounds a response (kaspad's own limit is 1 GiB). A devnet address mined for
// minutes holds tens of thousands of UTXOs, a few MiB.
const maxRPCMessage = 256 << 20

// rpcConn speaks kaspad's gRPC protocol (protowire) with a context on every call and no
// goroutine of its own. kaspad's rpcclient is not used here: it cannot be cancelled, and once
// its server goes away it reconnects in a goroutine that never ends.
type rpcConn struct {
	cc *grpc.ClientConn
}

func dialRPC(address string) (*rpcConn, error) {
	cc, err := grpc.NewClient("passthrough:///"+address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRPCMessage), grpc.MaxCallSendMsgSize(maxRPCMessage)))
	if err != nil {
		return nil, fmt.Errorf("devnet: gRPC client for %s: %w", address, err)
	}
	return &rpcConn{cc: cc}, nil
}

func (c *rpcConn) close() error { return c.cc.Close() }

// call sends one request on a stream of its own and returns the first message back: without a
// notification subscription that is the response.
func (c *rpcConn) call(ctx context.Context, request appmessage.Message) (appmessage.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream
	stream, err := protowire.NewRPCClient(c.cc).MessageStream(ctx)
	if err != nil {
		return nil, err
	}
	m, err := protowire.FromAppMessage(request)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(m); err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	_ = stream.CloseSend()
	return resp.ToAppMessage()
}

func rpcError(method string, e *appmessage.RPCError) error {
	if e == nil {
		return nil
	}
	return fmt.Errorf("devnet: %s: %s", method, e.Message)
}

func (c *rpcConn) getInfo(ctx context.Context) (*appmessage.GetInfoResponseMessage, error) {
	m, err := c.call(ctx, appmessage.NewGetInfoRequestMessage())
	if err != nil {
		return nil, err
	}
	r, ok := m.(*appmessage.GetInfoResponseMessage)
	if !ok {
		return nil, fmt.Errorf("devnet: GetInfo answered with %T", m)
	}
	return r, rpcError("GetInfo", r.Error)
}

func (c *rpcConn) getBlockDAGInfo(ctx context.Context) (*appmessage.GetBlockDAGInfoResponseMessage, error) {
	m, err := c.call(ctx, appmessage.NewGetBlockDAGInfoRequestMessage())
	if err != nil {
		return nil, err
	}
	r, ok := m.(*appmessage.GetBlockDAGInfoResponseMessage)
	if !ok {
		return nil, fmt.Errorf("devnet: GetBlockDAGInfo answered with %T", m)
	}
	return r, rpcError("GetBlockDAGInfo", r.Error)
}

func (c *rpcConn) getUTXOsByAddresses(ctx context.Context, addresses []string) ([]*appmessage.UTXOsByAddressesEntry, error) {
	m, err := c.call(ctx, appmessage.NewGetUTXOsByAddressesRequestMessage(addresses))
	if err != nil {
		return nil, err
	}
	r, ok := m.(*appmessage.GetUTXOsByAddressesResponseMessage)
	if !ok {
		return nil, fmt.Errorf("devnet: GetUTXOsByAddresses answered with %T", m)
	}
	return r.Entries, rpcError("GetUTXOsByAddresses", r.Error)
}

// probeRPC tells whether kaspad answers a GetInfo on address within a second or two. It dials
// plain TCP first: a gRPC channel that failed to connect backs off for seconds before it
// tries again, which would only delay noticing the node.
func probeRPC(ctx context.Context, address string) (*rpcConn, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	_ = tcp.Close()
	c, err := dialRPC(address)
	if err != nil {
		return nil, err
	}
	info, err := c.getInfo(ctx)
	if err == nil && info.ServerVersion == "" {
		err = errors.New("GetInfo answered without a server version")
	}
	if err != nil {
		_ = c.close()
		return nil, err
	}
	return c, nil
}

func (c *rpcConn) getBlockTemplate(ctx context.Context, payAddress string) (*appmessage.RPCBlock, error) {
	m, err := c.call(ctx, appmessage.NewGetBlockTemplateRequestMessage(payAddress, "kloak-devnet"))
	if err != nil {
		return nil, err
	}
	r, ok := m.(*appmessage.GetBlockTemplateResponseMessage)
	if !ok {
		return nil, fmt.Errorf("devnet: GetBlockTemplate answered with %T", m)
	}
	if err := rpcError("GetBlockTemplate", r.Error); err != nil {
		return nil, err
	}
	if r.Block == nil {
		return nil, errors.New("devnet: GetBlockTemplate answered without a block")
	}
	return r.Block, nil
}

func (c *rpcConn) submitBlock(ctx context.Context, block *appmessage.RPCBlock) error {
	m, err := c.call(ctx, appmessage.NewSubmitBlockRequestMessage(block, false))
	if err != nil {
		return err
	}
	r, ok := m.(*appmessage.SubmitBlockResponseMessage)
	if !ok {
		return fmt.Errorf("devnet: SubmitBlock answered with %T", m)
	}
	if err := rpcError("SubmitBlock", r.Error); err != nil {
		return fmt.Errorf("%w (reject reason: %s)", err, r.RejectReason)
	}
	return nil
}

// mempoolTransactionIDs returns the ids of the transactions in the mempool's transaction pool
// (not its orphans).
func (c *rpcConn) mempoolTransactionIDs(ctx context.Context) (map[string]bool, error) {
	m, err := c.call(ctx, appmessage.NewGetMempoolEntriesRequestMessage(false, false))
	if err != nil {
		return nil, err
	}
	r, ok := m.(*appmessage.GetMempoolEntriesResponseMessage)
	if !ok {
		return nil, fmt.Errorf("devnet: GetMempoolEntries answered with %T", m)
	}
	if err := rpcError("GetMempoolEntries", r.Error); err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(r.Entries))
	for _, e := range r.Entries {
		id, err := rpcTransactionID(e.Transaction)
		if err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, nil
}

func rpcTransactionID(tx *appmessage.RPCTransaction) (string, error) {
	if tx == nil {
		return "", errors.New("devnet: a transaction missing from an RPC answer")
	}
	d, err := appmessage.RPCTransactionToDomainTransaction(tx)
	if err != nil {
		return "", fmt.Errorf("devnet: transaction from RPC: %w", err)
	}
	return consensushashing.TransactionID(d).String(), nil
}
