package address

import "fmt"

// Network is a Kaspa network. Its zero value is not a network.
type Network int

// The Kaspa networks.
const (
	Mainnet Network = iota + 1
	Testnet
	Simnet
	Devnet
)

var networks = []struct {
	net    Network
	name   string
	prefix string
}{
	{Mainnet, "mainnet", "kaspa"},
	{Testnet, "testnet", "kaspatest"},
	{Simnet, "simnet", "kaspasim"},
	{Devnet, "devnet", "kaspadev"},
}

// Prefix returns the network's address prefix, such as "kaspa".
func (n Network) Prefix() string {
	for _, x := range networks {
		if x.net == n {
			return x.prefix
		}
	}
	return ""
}

// String returns the network's name, such as "mainnet".
func (n Network) String() string {
	for _, x := range networks {
		if x.net == n {
			return x.name
		}
	}
	return fmt.Sprintf("Network(%d)", int(n))
}

// ParseNetwork returns the network named name ("mainnet", "testnet",
// "simnet", "devnet"); it also takes an address prefix ("kaspatest").
func ParseNetwork(name string) (Network, error) {
	for _, x := range networks {
		if name == x.name || name == x.prefix {
			return x.net, nil
		}
	}
	return 0, fmt.Errorf("unknown Kaspa network %q: want mainnet, testnet, simnet or devnet", name)
}

func networkOfPrefix(prefix string) (Network, bool) {
	for _, x := range networks {
		if prefix == x.prefix {
			return x.net, true
		}
	}
	return 0, false
}
