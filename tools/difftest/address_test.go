package difftest

import (
	"math/rand/v2"
	"testing"

	"github.com/kaspanet/kaspad/domain/consensus/model/externalapi"
	"github.com/kaspanet/kaspad/domain/consensus/utils/txscript"
	"github.com/kaspanet/kaspad/domain/dagconfig"
	"github.com/kaspanet/kaspad/util"

	"github.com/kloakprotocol/kloak/address"
)

var kaspadNets = []struct {
	net    address.Network
	prefix util.Bech32Prefix
	params *dagconfig.Params
}{
	{address.Mainnet, util.Bech32PrefixKaspa, &dagconfig.MainnetParams},
	{address.Testnet, util.Bech32PrefixKaspaTest, &dagconfig.TestnetParams},
	{address.Simnet, util.Bech32PrefixKaspaSim, &dagconfig.SimnetParams},
	{address.Devnet, util.Bech32PrefixKaspaDev, &dagconfig.DevnetParams},
}

// TestAddressesAgainstKaspad encodes random payloads of all three versions
// on all four networks with both implementations and decodes each one's
// text with the other, including the script public keys.
func TestAddressesAgainstKaspad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for i := 0; i < 4000; i++ {
		kn := kaspadNets[r.IntN(len(kaspadNets))]
		var version address.Version
		var kaddr util.Address
		var err error
		switch r.IntN(3) {
		case 0:
			version = address.PubKey
			kaddr, err = util.NewAddressPublicKey(randomBytes(r, 32), kn.prefix)
		case 1:
			version = address.PubKeyECDSA
			kaddr, err = util.NewAddressPublicKeyECDSA(randomBytes(r, 33), kn.prefix)
		default:
			version = address.ScriptHash
			kaddr, err = util.NewAddressScriptHashFromHash(randomBytes(r, 32), kn.prefix)
		}
		if err != nil {
			t.Fatal(err)
		}
		ours, err := address.New(kn.net, version, kaddr.ScriptAddress())
		if err != nil {
			t.Fatal(err)
		}
		if ours.String() != kaddr.EncodeAddress() {
			t.Fatalf("encode: %s, kaspad %s", ours, kaddr.EncodeAddress())
		}
		back, err := address.Decode(kaddr.EncodeAddress(), kn.net)
		if err != nil || !back.Equal(ours) {
			t.Fatalf("decode of kaspad's %s: %v", kaddr.EncodeAddress(), err)
		}
		kback, err := util.DecodeAddress(ours.String(), kn.prefix)
		if err != nil || kback.EncodeAddress() != ours.String() {
			t.Fatalf("kaspad decode of %s: %v", ours, err)
		}
		kspk, err := txscript.PayToAddrScript(kaddr)
		if err != nil {
			t.Fatal(err)
		}
		spk := ours.ScriptPublicKey()
		if spk.Version != kspk.Version || string(spk.Script) != string(kspk.Script) {
			t.Fatalf("%s: script %x, kaspad %x", ours, spk.Script, kspk.Script)
		}
		_, extracted, err := txscript.ExtractScriptPubKeyAddress(&externalapi.ScriptPublicKey{Script: spk.Script, Version: spk.Version}, kn.params)
		if err != nil || extracted.EncodeAddress() != ours.String() {
			t.Fatalf("kaspad extract from our script of %s: %v", ours, err)
		}
		n++
	}
	t.Logf("%d addresses equal to kaspad's", n)
}
