// Package txbuild builds, hashes, signs, weighs and checks Kaspa
// transactions.
//
// A [Transaction] is version 0, the version kloak builds (still valid after
// Toccata). Its JSON form is kaspad's RPC RpcTransaction, the form the Python
// original and every Kaspa node speak:
//
//	{"version":0,
//	 "inputs":[{"previousOutpoint":{"transactionId":"<hex>","index":0},
//	            "signatureScript":"<hex>","sequence":0,"sigOpCount":1}],
//	 "outputs":[{"amount":100,"scriptPublicKey":{"version":0,"scriptPublicKey":"<hex>"}}],
//	 "lockTime":0,"subnetworkId":"<40 hex>","gas":0,"payload":"<hex>"}
//
// Decoding is strict (unknown or missing fields, bad hex and out-of-range
// integers are errors) and takes integers as numbers or as the decimal
// strings protojson writes.
//
// What the package computes, each exactly as rusty-kaspa does and proven by
// its vectors and by a differential test against Go kaspad:
//
//   - [Transaction.ID] and [Transaction.Hash] (consensus/core/src/hashing/tx.rs);
//   - signature hashes for Schnorr and ECDSA, all six sighash types, with the
//     post-Crescendo payload rule ([SigHasher], hashing/sighash.rs);
//   - [SignInput] (BIP340 Schnorr or ECDSA via libsecp256k1, or pure Go without cgo; signature script
//     OP_DATA_65 <sig> <type>) and [VerifyInput];
//   - compute, transient and KIP-9 storage mass ([CalcMasses], mass/mod.rs);
//   - the fee a node needs ([Policy.RequiredFee]) and every rule a transaction
//     breaks ([Policy.Check], [Policy.Inspect]).
//
// Signing a KPP payjoin input:
//
//	s, err := txbuild.NewSigHasher(tx, utxos) // one UTXO entry per input
//	err = s.SignInput(myInput, txbuild.SigHashAll, privateKey)
//
// The package does not pick UTXOs, talk to a node or hold keys: see the
// wallet and kpp packages.
package txbuild
