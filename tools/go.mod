module github.com/kloakprotocol/kloak/tools

go 1.26.0

require (
	github.com/kaspanet/kaspad v0.12.23
	github.com/kloakprotocol/kloak v0.0.0
	github.com/tyler-smith/go-bip39 v1.1.0
)

require (
	github.com/btcsuite/btcd/btcec/v2 v2.3.5 // indirect
	github.com/btcsuite/btcd/btcutil v1.2.0 // indirect
	github.com/btcsuite/btcd/chaincfg/chainhash v1.1.0 // indirect
	github.com/btcsuite/btcutil v1.0.2 // indirect
	github.com/decred/dcrd/crypto/blake256 v1.0.0 // indirect
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.0.1 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/jrick/logrotate v1.0.0 // indirect
	github.com/kaspanet/go-muhash v0.0.4 // indirect
	github.com/kaspanet/go-secp256k1 v0.0.7 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	google.golang.org/genproto v0.0.0-20210604141403-392c879c8b08 // indirect
	google.golang.org/grpc v1.82.1 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

replace github.com/kloakprotocol/kloak => ../
